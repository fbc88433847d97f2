/**
 * The ingress walkthrough with the control plane in the loop: weft-pilot watches a YAML directory (the
 * example's Gateway, VirtualService and policy, httpbin, and the `test.com` Secret) and serves it over
 * xDS to weft-waypoint --mode ingress (role gateway: Secrets included), which gets its own certificate
 * from pilot's CA. Editing the Secret in the directory rotates the server certificate.
 * The Secret is in the Gateway's namespace: pilot forwards only Secrets a Gateway names in its own
 * namespace (the gateway also looks in its own namespace first, Istio's rule, for Secrets that arrive).
 */

import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
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
  type PilotProcess,
  startGateway,
  startHttpbin,
  startPilot,
} from './harness.js';
import { makeBriefCertificates, signWithCa } from './openssl-certs.js';

const skip = gatewaySkipReason();
const EXAMPLE = join(import.meta.dirname, '../../../deploy/examples/ingress/config');
const IDENTITY = 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway';

function secretYaml(dir: string, cert: string, key: string): string {
  const b64 = (f: string) => readFileSync(join(dir, f)).toString('base64');
  return `apiVersion: v1
kind: Secret
metadata: { name: test.com, namespace: default }
type: Opaque
data:
  tls.crt: ${b64(cert)}
  tls.key: ${b64(key)}
  ca.crt: ${b64('cacert.pem')}
`;
}

describe.skipIf(skip !== undefined)(`ingress gateway configured by weft-pilot ${skip ?? ''}`, () => {
  let dir: string;
  let configDir: string;
  let httpbin: Awaited<ReturnType<typeof startHttpbin>>;
  let pilot: PilotProcess;
  let gw: GatewayProcess;
  let port: number;

  const writeConfig = (name: string, text: string): void => {
    const tmp = join(dir, `.${name}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(configDir, name));
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-gw-pilot-'));
    makeBriefCertificates(dir);
    httpbin = await startHttpbin();
    configDir = join(dir, 'config');
    mkdirSync(configDir);
    for (const name of readdirSync(EXAMPLE)) {
      writeConfig(
        name,
        readFileSync(join(EXAMPLE, name), 'utf8').replace('targetPort: 8000', `targetPort: ${httpbin.port}`),
      );
    }
    writeConfig('03-secret.yaml', secretYaml(dir, 'servercert.pem', 'serverkey.pem'));
    pilot = await startPilot(dir, configDir, IDENTITY);
    gw = await startGateway({ mode: 'ingress', dir, pilot, gatewayPorts: [80, 443] });
    port = gw.ports.get(443) as number;
  });

  afterAll(async () => {
    await gw?.stop();
    await pilot?.app.stop();
    await httpbin?.app.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const briefCurl = (path: string) =>
    curl(
      [
        '--header',
        'host:test.com',
        '--resolve',
        `test.com:${port}:127.0.0.1`,
        '--cacert',
        'cacert.pem',
        '--cert',
        'clientcert.pem',
        '--key',
        'client.key.pem',
        `https://test.com:${port}${path}`,
      ],
      dir,
    );

  it('serves the walkthrough with config and the credential from pilot', async () => {
    await waitFor(async () => (await briefCurl('/status/200')).status === '200', {
      timeoutMs: 20_000,
      what: 'the gateway to serve test.com',
    });
    const denied = await briefCurl('/status/418');
    expect(denied.status).toBe('403');
    expect(denied.body).toBe('RBAC: access denied');
  });

  it('the gateway certificate for the mesh came from pilot’s CA', async () => {
    const dump = await fetch(`http://127.0.0.1:${gw.metricsPort}/metrics`).then((r) => r.text());
    expect(dump).toContain('istio_requests_total');
    const issued = gw.app
      .output()
      .split('\n')
      .find((l) => l.includes('"msg":"certificate issued"'));
    expect(issued).toContain(IDENTITY);
  });

  it('editing the Secret in pilot’s directory rotates the server certificate', async () => {
    const serial = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
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
            res.on('end', () => resolve(s));
          },
        );
        req.on('error', reject);
        req.end();
      });
    const before = await serial();
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
    writeConfig('03-secret.yaml', secretYaml(dir, 'server2.pem', 'server2.key'));
    let after = before;
    await waitFor(
      async () => {
        after = await serial();
        return after !== before;
      },
      { timeoutMs: 20_000, what: 'the rotated certificate through pilot' },
    );
    expect(after).not.toBe(before);
  });
});
