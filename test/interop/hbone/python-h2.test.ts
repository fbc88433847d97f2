import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createHbonePool, HboneErrorCode, type HboneServer } from '@weft/hbone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  credentialsFrom,
  echoServer,
  type InteropPki,
  interopPki,
  lastJson,
  run,
  startHbone,
} from './fixtures.js';

const PY = '/usr/bin/python3';
const here = import.meta.dirname;

function pythonH2SkipReason(): string | undefined {
  const probe = spawnSync(PY, ['-c', 'import h2'], { stdio: 'ignore' });
  return probe.status === 0
    ? undefined
    : `needs Debian's python3-h2 under ${PY} (scripts/setup.sh installs it)`;
}
const skip = pythonH2SkipReason();

describe.skipIf(skip !== undefined)(
  `HBONE interop with python3-h2${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let pki: InteropPki;
    let echo: Awaited<ReturnType<typeof echoServer>>;
    let ours: { server: HboneServer; port: number };

    beforeAll(async () => {
      pki = await interopPki();
      echo = await echoServer();
      ours = await startHbone(pki);
    });
    afterAll(async () => {
      await ours.server.close();
      echo.server.close();
      pki.cleanup();
    });

    const client = (files: { cert: string; key: string }, expected: string) =>
      run(PY, [
        join(here, 'h2_client.py'),
        '127.0.0.1',
        String(ours.port),
        `127.0.0.1:${echo.port}`,
        files.cert,
        files.key,
        pki.caFile,
        expected,
        '200000',
      ]);

    it('a python3-h2 client tunnels through our server', async () => {
      const r = await client(pki.client, pki.serverId);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(lastJson(r.stdout)).toMatchObject({ status: '200', sent: 200000, received: 200000, same: true });
    });

    it('our server refuses a python3-h2 client with an untrusted chain', async () => {
      const r = await client(pki.rogueClient, pki.serverId);
      expect(r.code).toBe(2);
      // TLS 1.3: the client finishes its handshake first, then sees the server hang up before any response.
      expect(lastJson(r.stdout)).toMatchObject({ error: expect.any(String), status: null });
    });

    it('the python3-h2 client refuses our server when the SAN is not the expected one', async () => {
      const r = await client(pki.client, 'spiffe://cluster.local/ns/prod/sa/someone-else');
      expect(r.code).toBe(2);
      expect(String(lastJson(r.stdout).error)).toContain('is not');
    });

    describe('our client through a python3-h2 CONNECT server', () => {
      async function pyServer(files: { cert: string; key: string }) {
        const child = spawn(PY, [join(here, 'h2_server.py'), files.cert, files.key, pki.caFile], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        const lines = createInterface({ input: child.stdout });
        const [first] = (await once(lines, 'line')) as [string];
        const refused: string[] = [];
        lines.on('line', (l: string) => refused.push(l));
        return { child, port: (JSON.parse(first) as { port: number }).port, refused };
      }

      it('tunnels, with our identity seen by the server and its identity checked by us', async () => {
        const py = await pyServer(pki.server);
        const pool = createHbonePool({ credentials: credentialsFrom(pki, pki.client, pki.clientId) });
        try {
          const t = await pool.open({
            nextHop: { host: '127.0.0.1', port: py.port },
            authority: '10.1.2.3:8080',
            expectedIdentities: [pki.serverId],
          });
          expect(t.headers['x-peer']).toBe(pki.clientId);
          expect(t.headers['x-authority']).toBe('10.1.2.3:8080');
          expect(t.peerIdentity).toBe(pki.serverId);
          const chunks: Buffer[] = [];
          t.stream.on('data', (c: Buffer) => chunks.push(c));
          t.stream.end(Buffer.alloc(30_000, 9));
          await once(t.stream, 'end');
          expect(Buffer.concat(chunks).length).toBe(30_000);
        } finally {
          await pool.close();
          py.child.kill();
        }
      });

      it('refuses a server with the wrong SAN or an untrusted chain, and is refused with an untrusted chain', async () => {
        const good = await pyServer(pki.server);
        const rogue = await pyServer(pki.rogueServer);
        const pool = createHbonePool({ credentials: credentialsFrom(pki, pki.client, pki.clientId) });
        const roguePool = createHbonePool({
          credentials: credentialsFrom(pki, pki.rogueClient, pki.clientId),
        });
        try {
          const open = (p: typeof pool, port: number, expected: string) =>
            p
              .open({
                nextHop: { host: '127.0.0.1', port },
                authority: '10.1.2.3:80',
                expectedIdentities: [expected],
              })
              .then(
                () => 'opened',
                (e: { code: string }) => e.code,
              );
          expect(await open(pool, good.port, 'spiffe://cluster.local/ns/prod/sa/other')).toBe(
            HboneErrorCode.PeerIdentity,
          );
          expect(await open(pool, rogue.port, pki.serverId)).toBe(HboneErrorCode.PeerUntrusted);
          expect(await open(roguePool, good.port, pki.serverId)).toBe(HboneErrorCode.ConnectFailed);
          await expect.poll(() => good.refused.some((l) => l.includes('refused'))).toBe(true);
        } finally {
          await pool.close();
          await roguePool.close();
          good.child.kill();
          rogue.child.kill();
        }
      });
    });
  },
);
