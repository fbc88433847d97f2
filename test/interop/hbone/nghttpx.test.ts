import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { ConnectRequest, HboneServer } from '@weft/hbone';
import { commandsSkipReason, freePort, waitFor } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoServer, type InteropPki, interopPki, type PemFiles, startHbone } from './fixtures.js';

const skip = commandsSkipReason(['nghttpx']);

/** nghttpx (Debian nghttp2-proxy) as an HTTP/2 CONNECT client with a workload certificate: HTTP/1.1 in, HBONE out. */
describe.skipIf(skip !== undefined)(`HBONE interop with nghttpx${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let pki: InteropPki;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let ours: { server: HboneServer; port: number };
  const requests: ConnectRequest[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    pki = await interopPki();
    echo = await echoServer();
    ours = await startHbone(pki, (r) => requests.push(r));
  });
  afterAll(async () => {
    for (const c of children) c.kill();
    await ours.server.close();
    echo.server.close();
    pki.cleanup();
  });

  async function nghttpx(files: PemFiles): Promise<number> {
    const front = await freePort();
    const child = spawn(
      'nghttpx',
      [
        '--conf=/dev/null',
        '-s',
        '-n1',
        '-L',
        'WARN',
        `--frontend=127.0.0.1,${front};no-tls`,
        `--backend=127.0.0.1,${ours.port};;proto=h2;tls;sni=hbone.test`,
        `--client-private-key-file=${files.key}`,
        `--client-cert-file=${files.cert}`,
        `--cacert=${pki.caFile}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(child);
    child.stderr?.on('data', () => {});
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const s = connect(front, '127.0.0.1');
          s.once('connect', () => {
            s.destroy();
            resolve(true);
          });
          s.once('error', () => resolve(false));
        }),
      { timeoutMs: 10_000, what: 'nghttpx to listen' },
    );
    return front;
  }

  /** Sends an HTTP/1.1 CONNECT to nghttpx; resolves with the status line and the socket. */
  async function httpConnect(front: number, authority: string): Promise<{ status: string; socket: Socket }> {
    const socket = connect(front, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    let head = '';
    for (;;) {
      const [chunk] = (await once(socket, 'data')) as [Buffer];
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end !== -1) {
        const rest = chunk.subarray(chunk.length - (head.length - end - 4));
        if (rest.length > 0) socket.unshift(rest);
        return { status: head.split('\r\n')[0] ?? '', socket };
      }
    }
  }

  it('tunnels through our server, which sees the workload identity', async () => {
    const front = await nghttpx(pki.client);
    const { status, socket } = await httpConnect(front, `127.0.0.1:${echo.port}`);
    expect(status).toMatch(/^HTTP\/1\.1 200/);
    const payload = Buffer.alloc(100_000, 5);
    let got = 0;
    const done = new Promise<void>((resolve) => {
      socket.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= payload.length) resolve();
      });
    });
    socket.write(payload);
    await done;
    expect(got).toBe(payload.length);
    socket.destroy();
    const req = requests.at(-1)!;
    expect(req.peerIdentity).toBe(pki.clientId);
    expect(req.authority).toBe(`127.0.0.1:${echo.port}`);
    expect(req.headers.via).toBeDefined();
  });

  it('is refused by our server with a certificate from an untrusted CA', async () => {
    const before = requests.length;
    const front = await nghttpx(pki.rogueClient);
    const { status, socket } = await httpConnect(front, `127.0.0.1:${echo.port}`);
    expect(status).not.toMatch(/ 200/);
    expect(status).toMatch(/^HTTP\/1\.1 5\d\d/);
    expect(requests.length).toBe(before);
    socket.destroy();
  });
});
