import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants as h2 } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HboneErrorCode } from './errors.js';
import { createHbonePool, type HbonePool, type HboneTunnel } from './pool.js';
import { createHboneServer } from './server.js';
import type { ConnectionReport, HboneServer } from './server-types.js';
import { echoServer, FRAME, h2frame, hpack, type Mesh, mesh, RawH2 } from './test-fixtures.js';
import { directHandler } from './upstream.js';

/** Bad input must close (or refuse) only the offending connection; a healthy tunnel keeps going. */
describe('HBONE server under bad input', () => {
  let m: Mesh;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let server: HboneServer;
  let port: number;
  let pool: HbonePool;
  let healthy: HboneTunnel;
  let auth: string;
  const reports: ConnectionReport[] = [];

  beforeAll(async () => {
    m = await mesh();
    echo = await echoServer();
    auth = `127.0.0.1:${echo.port}`;
    // Short PINGs: a connection nghttp2 has given up on (GOAWAY sent, reading stopped) closes quickly.
    // (Not too short: a PING ack queues behind megabytes of DATA on the healthy tunnel.)
    server = createHboneServer({
      credentials: m.server,
      handler: directHandler(),
      pingIntervalMs: 250,
      pingTimeoutMs: 3000,
      onConnectionClosed: (r) => reports.push(r),
    });
    port = (await server.listen({ port: 0, host: '127.0.0.1' }))?.port ?? 0;
    pool = createHbonePool({ credentials: m.client });
    healthy = await pool.open({
      nextHop: { host: '127.0.0.1', port },
      authority: auth,
      expectedIdentities: [m.serverId],
    });
  });

  afterAll(async () => {
    healthy.stream.destroy();
    await pool.close();
    await server.close();
    echo.server.close();
  });

  /** Round-trips `bytes` through the healthy tunnel; returns MB/s. */
  async function healthyRoundTrip(bytes: number): Promise<number> {
    const started = performance.now();
    const chunk = Buffer.alloc(64 * 1024, 3);
    let received = 0;
    const done = new Promise<void>((resolve) => {
      const onData = (d: Buffer): void => {
        received += d.length;
        if (received >= bytes) {
          healthy.stream.off('data', onData);
          resolve();
        }
      };
      healthy.stream.on('data', onData);
    });
    for (let sent = 0; sent < bytes; sent += chunk.length) {
      if (!healthy.stream.write(chunk)) await once(healthy.stream, 'drain');
    }
    await done;
    return bytes / 1e6 / ((performance.now() - started) / 1000);
  }

  it('answers an HTTP/2 protocol error with GOAWAY PROTOCOL_ERROR and closes that connection', async () => {
    const r = await RawH2.connect(port, m.client);
    r.write(h2frame(FRAME.DATA, 0, 0, Buffer.from('DATA on stream 0')));
    await r.closed;
    expect(r.goawayCode()).toBe(h2.NGHTTP2_PROTOCOL_ERROR);
    expect(await healthyRoundTrip(256 * 1024)).toBeGreaterThan(0);
  });

  it('refuses a header list over 64 KiB with RST_STREAM, keeping the connection', async () => {
    const r = await RawH2.connect(port, m.client);
    const big = Array.from({ length: 8 }, (_, i) => [`x-big${i}`, 'a'.repeat(10_000)] as const);
    const block = hpack([[':method', 'CONNECT'], [':authority', auth], ...big]);
    r.write(h2frame(FRAME.HEADERS, 0, 1, block.subarray(0, 16_000)));
    for (let off = 16_000; off < block.length; off += 16_000) {
      const last = off + 16_000 >= block.length;
      r.write(h2frame(FRAME.CONTINUATION, last ? 0x4 : 0, 1, block.subarray(off, off + 16_000)));
    }
    // (As below: ENHANCE_YOUR_CALM from Node or INTERNAL_ERROR from nghttp2, whichever is first.)
    await expect
      .poll(() => r.frames.find((f) => f.type === FRAME.RST_STREAM)?.payload.readUInt32BE(0))
      .toBeOneOf([h2.NGHTTP2_ENHANCE_YOUR_CALM, h2.NGHTTP2_INTERNAL_ERROR]);
    expect(r.goawayCode()).toBeUndefined();
    r.socket.destroy();
    expect(await healthyRoundTrip(256 * 1024)).toBeGreaterThan(0);
  });

  it('refuses a header block with too many fields with RST_STREAM, keeping the connection', async () => {
    const r = await RawH2.connect(port, m.client);
    const fields: [string, string][] = [
      [':method', 'CONNECT'],
      [':authority', auth],
    ];
    for (let i = 0; i < 1000; i++) fields.push([`x-h${i}`, 'v']);
    r.write(h2frame(FRAME.HEADERS, 0x4, 1, hpack(fields)));
    // Node submits ENHANCE_YOUR_CALM and tells nghttp2 its callback failed, which resets with
    // INTERNAL_ERROR: whichever goes out first is the stream's answer. The connection stays.
    await expect
      .poll(() =>
        r.frames.find((f) => f.type === FRAME.RST_STREAM && f.streamId === 1)?.payload.readUInt32BE(0),
      )
      .toBeOneOf([h2.NGHTTP2_ENHANCE_YOUR_CALM, h2.NGHTTP2_INTERNAL_ERROR]);
    expect(r.goawayCode()).toBeUndefined();
    r.socket.destroy();
    expect(await healthyRoundTrip(256 * 1024)).toBeGreaterThan(0);
  });

  it('closes a connection that floods HEADERS past the stream limit', async () => {
    const r = await RawH2.connect(port, m.client);
    const frames: Buffer[] = [];
    for (let i = 0; i < 1000; i++) frames.push(RawH2.connectHeaders(1 + 2 * i, auth));
    r.write(Buffer.concat(frames));
    await r.closed;
    // nghttp2 refused the streams over the 200 limit; Node then gave up on the session.
    expect(r.frames.filter((f) => f.type === FRAME.HEADERS && f.streamId > 400)).toHaveLength(0);
    expect(await healthyRoundTrip(256 * 1024)).toBeGreaterThan(0);
  });

  it('stops rapid reset (HEADERS + RST_STREAM, CVE-2023-44487) with GOAWAY ENHANCE_YOUR_CALM', async () => {
    const r = await RawH2.connect(port, m.client);
    const frames: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      const id = 1 + 2 * i;
      frames.push(
        RawH2.connectHeaders(id, auth),
        h2frame(FRAME.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8])),
      );
    }
    r.write(Buffer.concat(frames));
    await r.closed;
    // Node 20 writes our GOAWAY ENHANCE_YOUR_CALM before closing. Node 24's nghttp2 enforces its own
    // stream-reset rate limit and ends the session first: the connection closes without a GOAWAY reaching
    // the peer. Either way the abuser is cut off, the error is reported and nothing leaks (below).
    if (Number(process.versions.node.split('.')[0]) < 22) {
      expect(r.goawayCode()).toBe(h2.NGHTTP2_ENHANCE_YOUR_CALM);
    } else expect([h2.NGHTTP2_ENHANCE_YOUR_CALM, undefined]).toContain(r.goawayCode());
    await expect
      .poll(() => reports.some((c) => (c.error as { code?: string })?.code === HboneErrorCode.Protocol))
      .toBe(true);
    // The aborted CONNECTs did not leave upstream connections behind.
    await expect.poll(() => echo.sockets.size).toBe(1);
    expect(await healthyRoundTrip(256 * 1024)).toBeGreaterThan(0);
  });

  it('closes a connection that floods CONTINUATION frames', async () => {
    const r = await RawH2.connect(port, m.client);
    r.write(h2frame(FRAME.HEADERS, 0, 1, hpack([[':method', 'CONNECT']])));
    for (let i = 0; i < 5000 && !r.socket.destroyed; i++) {
      r.write(h2frame(FRAME.CONTINUATION, 0, 1, hpack([[`x-c${i}`, 'v'.repeat(100)]])));
    }
    await r.closed;
    expect(await healthyRoundTrip(256 * 1024)).toBeGreaterThan(0);
  });

  it('refuses CONNECT to the proxy ports (loop guard) with 503 on the stream, connection kept', async () => {
    const r = await RawH2.connect(port, m.client);
    r.write(RawH2.connectHeaders(1, '127.0.0.1:15008'));
    // The answer (503, checked through a real client in server.test.ts) ends the stream; the connection stays.
    await expect
      .poll(() => r.frames.find((f) => f.type === FRAME.HEADERS && f.streamId === 1)?.flags)
      .toBe(0x5);
    expect(r.socket.destroyed).toBe(false);
    expect(r.goawayCode()).toBeUndefined();
    r.socket.destroy();
  });

  it('keeps a healthy tunnel at reasonable throughput while another process keeps attacking', async () => {
    const bytes = 16 * 1024 * 1024;
    const baseline = await healthyRoundTrip(bytes);
    const dir = mkdtempSync(join(tmpdir(), 'hbone-attack-'));
    const attacker = spawn(process.execPath, ['--input-type=module', '-e', ATTACKER], {
      env: { ...process.env, PORT: String(port), AUTH: auth, DIR: dir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const w = await m.ca.workload('prod', 'attacker');
      writeFileSync(join(dir, 'cert.pem'), w.chainPem);
      writeFileSync(join(dir, 'key.pem'), w.keyPem);
      writeFileSync(join(dir, 'go'), '');
      let attacks = 0;
      attacker.stdout.on('data', (d: Buffer) => {
        attacks += d
          .toString()
          .split('\n')
          .filter((l) => l === 'attack').length;
      });
      await expect.poll(() => attacks, { timeout: 10_000 }).toBeGreaterThan(0);
      const before = attacks;
      const underAttack = await healthyRoundTrip(bytes);
      const during = attacks - before;
      console.log(
        `healthy tunnel: ${baseline.toFixed(0)} MB/s alone, ${underAttack.toFixed(0)} MB/s during ${during} rapid-reset connections`,
      );
      expect(during).toBeGreaterThan(0);
      // Two cores shared by the attacker (one full core), server, client and echo; measured here ~25%.
      // The bar is "keeps flowing at a useful rate", not a benchmark.
      expect(underAttack).toBeGreaterThan(baseline * 0.1);
    } finally {
      attacker.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A separate process that opens mTLS connections and rapid-resets 500 CONNECT streams on each, forever. */
const ATTACKER = `
import { connect } from 'node:tls';
import { existsSync, readFileSync } from 'node:fs';
const { PORT, AUTH, DIR } = process.env;
while (!existsSync(DIR + '/go')) await new Promise((r) => setTimeout(r, 20));
const cert = readFileSync(DIR + '/cert.pem'), key = readFileSync(DIR + '/key.pem');
const frame = (type, flags, id, payload) => {
  const h = Buffer.alloc(9); h.writeUIntBE(payload.length, 0, 3); h[3] = type; h[4] = flags; h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
};
const lit = (n, v) => Buffer.concat([Buffer.from([0, n.length]), Buffer.from(n), Buffer.from([v.length]), Buffer.from(v)]);
const block = Buffer.concat([lit(':method', 'CONNECT'), lit(':authority', AUTH)]);
const parts = [Buffer.from('PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n'), frame(4, 0, 0, Buffer.alloc(0))];
for (let i = 0; i < 500; i++) { const id = 1 + 2 * i; parts.push(frame(1, 4, id, block), frame(3, 0, id, Buffer.from([0, 0, 0, 8]))); }
const attack = Buffer.concat(parts);
for (;;) {
  await new Promise((resolve) => {
    const s = connect({ port: Number(PORT), host: '127.0.0.1', cert, key, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    s.on('secureConnect', () => s.write(attack));
    s.on('error', () => {});
    s.on('data', () => {});
    s.on('close', resolve);
  });
  process.stdout.write('attack\\n');
}
`;
