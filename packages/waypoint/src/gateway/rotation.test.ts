import { request } from 'node:https';
import type { ConfigObject } from '@weft/config';
import { TestCa, waitFor } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendService, configsFromYaml, startTestGateway, statusBackend } from './test-fixtures.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('credential rotation through discovery (Secret updated in place)', () => {
  let ca: TestCa;
  let backend: Awaited<ReturnType<typeof statusBackend>>;
  let gw: Awaited<ReturnType<typeof startTestGateway>>;
  let base: ConfigObject[];
  let services: ReturnType<typeof backendService>;

  const secretYaml = (cert: string, key: string) => `
apiVersion: v1
kind: Secret
metadata: { name: web-cred, namespace: istio-system }
data: { tls.crt: ${b64(cert)}, tls.key: ${b64(key)} }
`;

  beforeAll(async () => {
    ca = await TestCa.create();
    const first = await ca.issue({ dnsNames: ['web.example.com'] });
    backend = await statusBackend();
    services = backendService('web', 'default', 8000, backend.port);
    base = configsFromYaml(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: web, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
    - port: { number: 443, name: https, protocol: HTTPS }
      hosts: [web.example.com]
      tls: { mode: SIMPLE, credentialName: web-cred }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: default }
spec:
  hosts: [web.example.com]
  gateways: [web]
  http: [{ route: [{ destination: { host: web, port: { number: 8000 } } }] }]
`);
    gw = await startTestGateway({
      mode: 'ingress',
      configs: [...base, ...configsFromYaml(secretYaml(first.chainPem, first.keyPem))],
      services: [services.service],
      workloads: [services.workload],
    });
  });

  afterAll(async () => {
    await gw?.close();
    await backend?.close();
  });

  const serial = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: gw.port(443),
          path: '/status/200',
          servername: 'web.example.com',
          headers: { host: 'web.example.com' },
          ca: ca.certPem,
          agent: false,
        },
        (res) => {
          const s = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().serialNumber;
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve(s) : reject(new Error(`status ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });

  it('new connections get the new certificate, none fails during the switch', async () => {
    const before = await serial();
    const next = await ca.issue({ dnsNames: ['web.example.com'] });
    let failures = 0;
    let ok = 0;
    let last = before;
    let stop = false;
    const loop = (async () => {
      while (!stop && ok < 10_000) {
        try {
          last = await serial();
          ok++;
        } catch {
          failures++;
        }
      }
    })();
    await waitFor(() => ok >= 5);
    gw.view.update({ configs: [...base, ...configsFromYaml(secretYaml(next.chainPem, next.keyPem))] });
    await waitFor(() => last !== before, { what: 'the rotated certificate' });
    const seen = ok;
    await waitFor(() => ok >= seen + 5);
    stop = true;
    await loop;
    expect(failures).toBe(0);
    expect(last).not.toBe(before);
  });
});
