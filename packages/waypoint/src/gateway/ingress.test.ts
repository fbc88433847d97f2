import { request as httpsRequest, type RequestOptions } from 'node:https';
import { TestCa, type TestCredential } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendService, configsFromYaml, startTestGateway, statusBackend } from './test-fixtures.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

interface Reply {
  status: number;
  body: string;
  alpn: string | false | null;
}

function get(
  port: number,
  path: string,
  opts: RequestOptions & { servername?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: 'test.com',
        headers: { host: 'test.com' },
        agent: false,
        ...opts,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            alpn: (res.socket as { alpnProtocol?: string | false }).alpnProtocol ?? null,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('ingress gateway: TLS MUTUAL with client identity (the brief walkthrough, in process)', () => {
  let ca: TestCa;
  let other: TestCa;
  let server: TestCredential;
  let client: TestCredential;
  let stranger: TestCredential;
  let backend: Awaited<ReturnType<typeof statusBackend>>;
  let gw: Awaited<ReturnType<typeof startTestGateway>>;

  beforeAll(async () => {
    ca = await TestCa.create({ rsa: true, name: 'Test CA' });
    other = await TestCa.create({ rsa: true, name: 'Other CA' });
    server = await ca.issue({ dnsNames: ['test.com'], commonName: 'test.com', rsa: true });
    client = await ca.issue({ uris: ['spiffe://test.client'], commonName: 'test.client', rsa: true });
    stranger = await other.issue({ uris: ['spiffe://test.client'], rsa: true });
    backend = await statusBackend();
    const { service, workload } = backendService('httpbin', 'default', 8000, backend.port);
    const configs = configsFromYaml(`
apiVersion: v1
kind: Secret
metadata: { name: test.com, namespace: istio-system }
type: Opaque
data:
  tls.crt: ${b64(server.chainPem)}
  tls.key: ${b64(server.keyPem)}
  ca.crt: ${b64(ca.certPem)}
---
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: { name: httpbin, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
    - hosts: ['*']
      port: { name: test, number: 80, protocol: HTTP }
    - hosts: [test.com]
      port: { number: 443, name: https, protocol: HTTPS }
      tls: { mode: MUTUAL, credentialName: test.com }
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: { name: httpbin, namespace: default }
spec:
  hosts: ['*']
  gateways: [httpbin]
  http:
    - match: [{ uri: { prefix: /status } }, { uri: { exact: /headers } }]
      route: [{ destination: { host: httpbin, port: { number: 8000 } } }]
---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: { name: test, namespace: istio-system }
spec:
  action: DENY
  rules:
    - from: [{ source: { principals: [test.client] } }]
      to: [{ operation: { paths: [/status/418] } }]
  selector:
    matchLabels: { istio: ingressgateway }
`);
    gw = await startTestGateway({ mode: 'ingress', configs, services: [service], workloads: [workload] });
  });

  afterAll(async () => {
    await gw?.close();
    await backend?.close();
  });

  const mtls = () => ({ ca: ca.certPem, cert: client.chainPem, key: client.keyPem });

  it('client certificate → /status/200 is 200 from the backend', async () => {
    const r = await get(gw.port(443), '/status/200', mtls());
    expect(r.status).toBe(200);
  });

  it('DENY principals ["test.client"] on /status/418 → 403 RBAC: access denied', async () => {
    const r = await get(gw.port(443), '/status/418', mtls());
    expect(r.status).toBe(403);
    expect(r.body).toBe('RBAC: access denied');
  });

  it('a certificate without the URI SAN (the server certificate) is not denied: 418 from the backend', async () => {
    const r = await get(gw.port(443), '/status/418', {
      ca: ca.certPem,
      cert: server.chainPem,
      key: server.keyPem,
    });
    expect(r.status).toBe(418);
  });

  it('no client certificate → the TLS handshake fails', async () => {
    await expect(get(gw.port(443), '/status/200', { ca: ca.certPem })).rejects.toThrow(
      /certificate required|socket hang up|ECONNRESET/i,
    );
  });

  it('a client certificate from another CA → refused', async () => {
    await expect(
      get(gw.port(443), '/status/200', { ca: ca.certPem, cert: stranger.chainPem, key: stranger.keyPem }),
    ).rejects.toThrow();
  });

  it('plaintext port 80 routes through the same VirtualService; no route → 404', async () => {
    const plain = await fetch(`http://127.0.0.1:${gw.port(80)}/status/201`);
    expect(plain.status).toBe(201);
    const none = await fetch(`http://127.0.0.1:${gw.port(80)}/nowhere`);
    expect(none.status).toBe(404);
  });

  it('forwards the request to the backend with its path and host', async () => {
    const r = await get(gw.port(443), '/headers', mtls());
    expect(r.status).toBe(200);
    const echoed = JSON.parse(r.body) as { url: string; headers: Record<string, string> };
    expect(echoed.url).toBe('/headers');
    expect(echoed.headers.host).toBe('test.com');
  });
});
