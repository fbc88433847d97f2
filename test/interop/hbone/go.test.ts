import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectRequest, HboneServer } from '@weft/hbone';
import { commandsSkipReason } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  echoServer,
  type InteropPki,
  interopPki,
  lastJson,
  type PemFiles,
  run,
  startHbone,
} from './fixtures.js';

const skip = commandsSkipReason(['go']);

/** Go's standard net/http HTTP/2 client sending CONNECT to our server (go 1.19, stdlib only, GOPROXY=off). */
describe.skipIf(skip !== undefined)(
  `HBONE interop with Go net/http${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let pki: InteropPki;
    let echo: Awaited<ReturnType<typeof echoServer>>;
    let ours: { server: HboneServer; port: number };
    let build: string;
    let binary: string;
    const requests: ConnectRequest[] = [];

    beforeAll(async () => {
      pki = await interopPki();
      echo = await echoServer();
      ours = await startHbone(pki, (r) => requests.push(r));
      build = mkdtempSync(join(tmpdir(), 'hbone-go-'));
      copyFileSync(join(import.meta.dirname, 'go', 'main.go'), join(build, 'main.go'));
      writeFileSync(join(build, 'go.mod'), 'module hboneinterop\n\ngo 1.19\n');
      binary = join(build, 'hbone-client');
      const env = {
        ...process.env,
        GOPROXY: 'off',
        GOFLAGS: '-mod=mod',
        GOCACHE: join(tmpdir(), 'weft-go-cache'),
      };
      const r = await run('go', ['build', '-o', binary, '.'], { cwd: build, env, timeoutMs: 110_000 });
      if (r.code !== 0) throw new Error(`go build failed: ${r.stderr}`);
    });
    afterAll(async () => {
      await ours.server.close();
      echo.server.close();
      pki.cleanup();
      rmSync(build, { recursive: true, force: true });
    });

    const client = (files: PemFiles, expected: string) =>
      run(binary, [
        `127.0.0.1:${ours.port}`,
        `127.0.0.1:${echo.port}`,
        files.cert,
        files.key,
        pki.caFile,
        expected,
        '300000',
      ]);

    it('a Go client tunnels through our server over HTTP/2, half-closing with END_STREAM', async () => {
      const r = await client(pki.client, pki.serverId);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(lastJson(r.stdout)).toMatchObject({
        status: 200,
        proto: 'HTTP/2.0',
        received: 300000,
        same: true,
        peer: pki.serverId,
      });
      const req = requests.at(-1)!;
      expect(req.peerIdentity).toBe(pki.clientId);
      expect(req.headers.forwarded).toBe('for="10.9.8.7:1234"');
    });

    it('the Go client refuses our server when the SAN is not the expected one', async () => {
      const r = await client(pki.client, 'spiffe://cluster.local/ns/prod/sa/other');
      expect(r.code).toBe(2);
      expect(String(lastJson(r.stdout).error)).toContain('is not');
    });

    it('our server refuses a Go client whose certificate chains to another CA', async () => {
      const before = requests.length;
      const r = await client(pki.rogueClient, pki.serverId);
      expect(r.code).toBe(2);
      expect(lastJson(r.stdout).status).toBeUndefined();
      expect(requests.length).toBe(before);
    });
  },
);
