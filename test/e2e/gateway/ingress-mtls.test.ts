/**
 * The brief's ingress walkthrough, end to end: openssl-made RSA certificates (CA, test.com server,
 * client with URI SAN spiffe://test.client), a real httpbin behind weft-waypoint running as the ingress
 * gateway (Gateway MUTUAL with credentialName test.com, VirtualService, the DENY policy on /status/418),
 * and curl with --cert/--key/--cacert/--resolve. Then the credential is rotated under a request loop.
 * The config is deploy/examples/ingress/config, so the example a user follows is the one tested.
 */

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { waitFor } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  curl,
  type GatewayProcess,
  gatewaySkipReason,
  startGateway,
  startHttpbin,
  writeSecretVolume,
} from './harness.js';
import { makeBriefCertificates, makeStrangerClient, signWithCa } from './openssl-certs.js';

const skip = gatewaySkipReason();

const EXAMPLE = join(import.meta.dirname, '../../../deploy/examples/ingress/config');

/** deploy/examples/ingress/config as a user runs it, with httpbin's port in place of 8000. */
function exampleConfig(into: string, httpbinPort: number): void {
  mkdirSync(into);
  for (const name of readdirSync(EXAMPLE)) {
    const text = readFileSync(join(EXAMPLE, name), 'utf8').replace(
      'targetPort: 8000',
      `targetPort: ${httpbinPort}`,
    );
    writeFileSync(join(into, name), text);
  }
}

describe.skipIf(skip !== undefined)(
  `ingress gateway, TLS MUTUAL, the brief's walkthrough ${skip ?? ''}`,
  () => {
    let dir: string;
    let credDir: string;
    let httpbin: Awaited<ReturnType<typeof startHttpbin>>;
    let gw: GatewayProcess;
    let port443: number;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'weft-ingress-'));
      makeBriefCertificates(dir);
      makeStrangerClient(dir);
      httpbin = await startHttpbin();
      const configDir = join(dir, 'config');
      exampleConfig(configDir, httpbin.port);
      // `kubectl create -n istio-system secret generic test.com --from-file=tls.key=serverkey.pem ...`, mounted.
      credDir = join(dir, 'credentials');
      writeSecretVolume(join(credDir, 'test.com'), {
        'tls.key': readFileSync(join(dir, 'serverkey.pem'), 'utf8'),
        'tls.crt': readFileSync(join(dir, 'servercert.pem'), 'utf8'),
        'ca.crt': readFileSync(join(dir, 'cacert.pem'), 'utf8'),
      });
      gw = await startGateway({
        mode: 'ingress',
        dir,
        configDir,
        credentialsDir: credDir,
        gatewayPorts: [80, 443],
      });
      port443 = gw.ports.get(443) as number;
    });

    afterAll(async () => {
      await gw?.stop();
      await httpbin?.app.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    const briefCurl = (path: string, cert = 'clientcert.pem', key = 'client.key.pem', extra: string[] = []) =>
      curl(
        [
          '--header',
          'host:test.com',
          '--resolve',
          `test.com:${port443}:127.0.0.1`,
          '--cacert',
          'cacert.pem',
          ...(cert === '' ? [] : ['--cert', cert, '--key', key]),
          ...extra,
          `https://test.com:${port443}${path}`,
        ],
        dir,
      );

    it('curl with the client certificate: /status/200 → 200 (from httpbin)', async () => {
      const r = await briefCurl('/status/200', undefined, undefined, ['-I']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe('200');
      expect(r.body).toMatch(/access-control-allow-origin: \*/i);
    });

    it('/status/418 with the test.client certificate → 403 "RBAC: access denied"', async () => {
      const r = await briefCurl('/status/418');
      expect(r.status).toBe('403');
      expect(r.body).toBe('RBAC: access denied');
    });

    it('/status/418 with the server certificate (no test.client identity) → the teapot', async () => {
      const r = await briefCurl('/status/418', 'servercert.pem', 'serverkey.pem');
      expect(r.status).toBe('418');
      expect(r.body).toContain('teapot');
    });

    it('no client certificate → TLS handshake failure', async () => {
      const r = await briefCurl('/status/200', '');
      expect(r.code).not.toBe(0);
      expect(r.status).toBe('000');
      expect(r.stderr).toMatch(/alert|certificate required|handshake|reset|SSL/i);
    });

    it('a client certificate from another CA → failure', async () => {
      const r = await briefCurl('/status/200', 'stranger.pem', 'stranger.key');
      expect(r.code).not.toBe(0);
      expect(r.status).toBe('000');
    });

    it('plaintext port 80 serves the same routes', async () => {
      const r = await curl(
        ['-H', 'host: anything.example', `http://127.0.0.1:${gw.ports.get(80)}/status/204`],
        dir,
      );
      expect(r.status).toBe('204');
    });

    it('rotating the Secret files switches the server certificate with no failed request', async () => {
      const serial = (): Promise<string> =>
        new Promise((resolve, reject) => {
          const req = request(
            {
              host: '127.0.0.1',
              port: port443,
              path: '/status/200',
              servername: 'test.com',
              headers: { host: 'test.com' },
              ca: readFileSync(join(dir, 'cacert.pem')),
              cert: readFileSync(join(dir, 'clientcert.pem')),
              key: readFileSync(join(dir, 'client.key.pem')),
              agent: false,
            },
            (res) => {
              const s = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
              res.resume();
              res.on('end', () =>
                res.statusCode === 200 ? resolve(s) : reject(new Error(`status ${res.statusCode}`)),
              );
            },
          );
          req.on('error', reject);
          req.end();
        });
      const before = await serial();
      // A new server key and certificate from the same CA (`openssl ca` again).
      const { execFileSync } = await import('node:child_process');
      execFileSync(
        'openssl',
        [
          'req',
          '-batch',
          '-config',
          'server.cnf',
          '-newkey',
          'rsa:2048',
          '-sha256',
          '-nodes',
          '-keyout',
          'server2.key',
          '-out',
          'server2.csr',
        ],
        { cwd: dir, stdio: 'ignore' },
      );
      signWithCa(dir, 'server2.csr', 'server2.pem');
      let failures = 0;
      let ok = 0;
      let after = before;
      let stop = false;
      const loop = (async () => {
        while (!stop && ok < 5_000) {
          try {
            after = await serial();
            ok++;
          } catch {
            failures++;
          }
        }
      })();
      await waitFor(() => ok >= 5, { what: 'requests before the swap' });
      writeSecretVolume(join(credDir, 'test.com'), {
        'tls.key': readFileSync(join(dir, 'server2.key'), 'utf8'),
        'tls.crt': readFileSync(join(dir, 'server2.pem'), 'utf8'),
        'ca.crt': readFileSync(join(dir, 'cacert.pem'), 'utf8'),
      });
      await waitFor(() => after !== before, { timeoutMs: 15_000, what: 'the new server certificate' });
      const seen = ok;
      await waitFor(() => ok >= seen + 5, { what: 'requests after the swap' });
      stop = true;
      await loop;
      expect(failures).toBe(0);
      expect(after).not.toBe(before);
      expect(gw.app.exited).toBe(false);
    });
  },
);
