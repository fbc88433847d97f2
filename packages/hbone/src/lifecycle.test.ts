import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { createSecureContext, connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HboneErrorCode } from './errors.js';
import { createHbonePool } from './pool.js';
import { createHboneServer } from './server.js';
import type { ConnectionReport, HboneServer } from './server-types.js';
import { echoServer, FRAME, H2_PREFACE, h2frame, type Mesh, mesh, readAll } from './test-fixtures.js';
import { directHandler } from './upstream.js';

describe('HBONE connection lifecycle', () => {
  let m: Mesh;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  beforeAll(async () => {
    m = await mesh();
    echo = await echoServer();
  });
  afterAll(() => {
    echo.server.close();
  });

  async function start(extra: Partial<Parameters<typeof createHboneServer>[0]> = {}) {
    const reports: ConnectionReport[] = [];
    const server: HboneServer = createHboneServer({
      credentials: m.server,
      handler: directHandler(),
      onConnectionClosed: (r) => reports.push(r),
      ...extra,
    });
    const port = (await server.listen({ port: 0, host: '127.0.0.1' }))?.port ?? 0;
    return { server, port, reports };
  }

  it('drains: GOAWAY stops new tunnels on the connection, open tunnels finish, then it resolves', async () => {
    const { server, port } = await start();
    const pool = createHbonePool({ credentials: m.client });
    const req = {
      nextHop: { host: '127.0.0.1', port },
      authority: `127.0.0.1:${echo.port}`,
      expectedIdentities: [m.serverId],
    };
    const t = await pool.open(req);
    const drained = server.drain(10_000);
    let drainedYet = false;
    void drained.then(() => {
      drainedYet = true;
    });
    // The pool saw the GOAWAY and will not put a new tunnel on that connection; the listener is gone too.
    await expect
      .poll(
        () =>
          pool.stats().connections === 1 &&
          pool.open(req).then(
            () => 'opened',
            (e: { code: string }) => e.code,
          ),
      )
      .toBe(HboneErrorCode.ConnectFailed);
    expect(drainedYet).toBe(false);
    // The tunnel that was open keeps working through the drain.
    t.stream.write('still here');
    const [chunk] = (await once(t.stream, 'data')) as [Buffer];
    expect(chunk.toString()).toBe('still here');
    t.stream.end();
    await readAll(t.stream);
    await drained;
    expect(server.connectionCount).toBe(0);
    await pool.close();
  });

  it('force-closes tunnels still open at the drain deadline', async () => {
    const { server, port } = await start();
    const pool = createHbonePool({ credentials: m.client });
    const t = await pool.open({
      nextHop: { host: '127.0.0.1', port },
      authority: `127.0.0.1:${echo.port}`,
      expectedIdentities: [m.serverId],
    });
    const closed = once(t.stream, 'close');
    t.stream.on('error', () => {});
    const started = Date.now();
    await server.drain(200);
    await closed;
    expect(Date.now() - started).toBeLessThan(5000);
    await pool.close();
  });

  it('releases idle pooled connections after the idle timeout', async () => {
    const { server, port } = await start();
    const pool = createHbonePool({ credentials: m.client, idleTimeoutMs: 100 });
    const t = await pool.open({
      nextHop: { host: '127.0.0.1', port },
      authority: `127.0.0.1:${echo.port}`,
      expectedIdentities: [m.serverId],
    });
    t.stream.end('x');
    await readAll(t.stream);
    await expect.poll(() => pool.stats().connections, { timeout: 3000 }).toBe(0);
    await expect.poll(() => server.connectionCount, { timeout: 3000 }).toBe(0);
    await pool.close();
    await server.close();
  });

  it('closing the pool mid-handshake leaves no connection behind', async () => {
    const { server, port } = await start();
    const pool = createHbonePool({ credentials: m.client });
    const opening = pool
      .open({
        nextHop: { host: '127.0.0.1', port },
        authority: `127.0.0.1:${echo.port}`,
        expectedIdentities: [m.serverId],
      })
      .then(
        () => 'opened',
        (e: { code: string }) => e.code,
      );
    await pool.close();
    expect(await opening).toBe(HboneErrorCode.PoolClosed);
    await expect.poll(() => pool.stats().connections).toBe(0);
    await expect.poll(() => server.connectionCount).toBe(0);
    await server.close();
  });

  it('uses a rotated certificate for new connections while open ones keep theirs', async () => {
    const first = await m.ca.workload('prod', 'server');
    const second = await m.ca.workload('prod', 'server');
    const context = (w: typeof first) =>
      createSecureContext({ cert: w.chainPem, key: w.keyPem, ca: m.ca.rootPem, minVersion: 'TLSv1.3' });
    let current = context(first);
    const { server, port } = await start({
      credentials: {
        identity: m.serverId,
        secureContext: () => current,
        trustDomains: () => ['cluster.local'],
      },
    });
    const certSeen = async (): Promise<string> => {
      const s = tlsConnect({
        port,
        host: '127.0.0.1',
        secureContext: m.client.secureContext(),
        ALPNProtocols: ['h2'],
        rejectUnauthorized: false,
      });
      s.on('error', () => {});
      await once(s, 'secureConnect');
      const fingerprint = s.getPeerCertificate().fingerprint256;
      s.destroy();
      return fingerprint;
    };
    const fingerprint = (w: typeof first): string => new X509Certificate(w.certPem).fingerprint256;
    expect(await certSeen()).toBe(fingerprint(first));
    current = context(second);
    expect(await certSeen()).toBe(fingerprint(second));
    await server.close();
  });

  it("answers 400 when the authority is not the connection's destination, if asked to (pod listeners)", async () => {
    const { server, port } = await start({ requireAuthorityIsLocal: true });
    const pool = createHbonePool({ credentials: m.client });
    const hop = { host: '127.0.0.1', port };
    await expect(
      pool.open({ nextHop: hop, authority: `127.0.0.2:${echo.port}`, expectedIdentities: [m.serverId] }),
    ).rejects.toMatchObject({ code: HboneErrorCode.Rejected, status: 400 });
    const t = await pool.open({
      nextHop: hop,
      authority: `127.0.0.1:${echo.port}`,
      expectedIdentities: [m.serverId],
    });
    t.stream.end('ok');
    expect((await readAll(t.stream)).toString()).toBe('ok');
    await pool.close();
    await server.close();
  });

  it('closes connections whose TLS handshake stalls (handshake timeout)', async () => {
    const { server, port, reports } = await start({ handshakeTimeoutMs: 200 });
    const silent = netConnect({ port, host: '127.0.0.1' });
    await once(silent, 'connect');
    await once(silent, 'close');
    // TLS completes but the HTTP/2 preface never comes.
    const noPreface = tlsConnect({
      port,
      host: '127.0.0.1',
      secureContext: m.client.secureContext(),
      ALPNProtocols: ['h2'],
      rejectUnauthorized: false,
    });
    noPreface.on('error', () => {});
    noPreface.resume();
    await once(noPreface, 'close');
    await expect
      .poll(
        () =>
          reports.filter((r) => (r.error as { code?: string })?.code === HboneErrorCode.HandshakeTimeout)
            .length,
      )
      .toBe(2);
    await server.close();
  });

  it('closes connections whose peer stops answering PINGs', async () => {
    const { server, port, reports } = await start({ pingIntervalMs: 50, pingTimeoutMs: 200 });
    const s = tlsConnect({
      port,
      host: '127.0.0.1',
      secureContext: m.client.secureContext(),
      ALPNProtocols: ['h2'],
      rejectUnauthorized: false,
    });
    s.on('error', () => {});
    await once(s, 'secureConnect');
    // Preface + empty SETTINGS + SETTINGS ack, and then never a PING ack.
    s.write(Buffer.concat([H2_PREFACE, h2frame(FRAME.SETTINGS, 0, 0), h2frame(FRAME.SETTINGS, 1, 0)]));
    s.resume();
    await once(s, 'close');
    expect(reports.map((r) => (r.error as { code?: string })?.code)).toContain(HboneErrorCode.PingTimeout);
    await server.close();
  });
});
