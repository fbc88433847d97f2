import { once } from 'node:events';
import { request as httpsRequest } from 'node:https';
import { type AddressInfo, connect as netConnect } from 'node:net';
import {
  createServer as createTlsServer,
  type PeerCertificate,
  type Server,
  connect as tlsConnect,
} from 'node:tls';
import { TestCa, type TestCredential } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendService, configsFromYaml, startTestGateway, statusBackend } from './test-fixtures.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function secret(name: string, fields: Record<string, string>): string {
  const data = Object.entries(fields)
    .map(([k, v]) => `  ${k}: ${b64(v)}`)
    .join('\n');
  return `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: istio-system }
data:
${data}
`;
}

interface Reply {
  status: number;
  body: string;
  cert: PeerCertificate;
  protocol: string | null;
}

function get(
  port: number,
  servername: string,
  path: string,
  tls: { ca: string; cert?: string; key?: string; minVersion?: 'TLSv1.2'; maxVersion?: 'TLSv1.2' },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, servername, headers: { host: servername }, agent: false, ...tls },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => {
          const socket = res.socket as import('node:tls').TLSSocket;
          resolve({
            status: res.statusCode ?? 0,
            body,
            cert: socket.getPeerCertificate(),
            protocol: socket.getProtocol(),
          });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('gateway TLS modes: SNI selection, SIMPLE, OPTIONAL_MUTUAL, PASSTHROUGH, minProtocolVersion', () => {
  let ca: TestCa;
  let a: TestCredential;
  let b: TestCredential;
  let opt: TestCredential;
  let client: TestCredential;
  let stranger: TestCredential;
  let backend: Awaited<ReturnType<typeof statusBackend>>;
  let passBackend: Server;
  let gw: Awaited<ReturnType<typeof startTestGateway>>;

  beforeAll(async () => {
    ca = await TestCa.create();
    const other = await TestCa.create({ name: 'Other' });
    a = await ca.issue({ dnsNames: ['a.example.com'] });
    b = await ca.issue({ dnsNames: ['b.example.com'] });
    opt = await ca.issue({ dnsNames: ['opt.example.com'] });
    client = await ca.issue({ uris: ['spiffe://cluster.local/ns/partners/sa/acme'] });
    stranger = await other.issue({ uris: ['spiffe://cluster.local/ns/partners/sa/acme'] });
    const pass = await ca.issue({ dnsNames: ['pass.example.com'] });
    backend = await statusBackend();
    passBackend = createTlsServer({ cert: pass.chainPem, key: pass.keyPem }, (s) => {
      s.end('HTTP/1.1 200 OK\r\ncontent-length: 11\r\nconnection: close\r\n\r\npassthrough');
    });
    passBackend.listen(0, '127.0.0.1');
    await once(passBackend, 'listening');
    const passPort = (passBackend.address() as AddressInfo).port;
    const { service, workload } = backendService('web', 'default', 8000, backend.port);
    const configs = configsFromYaml(`
${secret('a-cred', { 'tls.crt': a.chainPem, 'tls.key': a.keyPem })}
---
${secret('b-cred', { cert: b.chainPem, key: b.keyPem })}
---
${secret('opt-cred', { 'tls.crt': opt.chainPem, 'tls.key': opt.keyPem })}
---
${secret('opt-cred-cacert', { 'ca.crt': ca.certPem })}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: multi, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
    - port: { number: 443, name: a, protocol: HTTPS }
      hosts: [a.example.com]
      tls: { mode: SIMPLE, credentialName: a-cred }
    - port: { number: 443, name: b, protocol: HTTPS }
      hosts: [b.example.com]
      tls: { mode: SIMPLE, credentialName: b-cred, minProtocolVersion: TLSV1_3 }
    - port: { number: 443, name: opt, protocol: HTTPS }
      hosts: [opt.example.com]
      tls: { mode: OPTIONAL_MUTUAL, credentialName: opt-cred }
    - port: { number: 8443, name: pass, protocol: TLS }
      hosts: [pass.example.com]
      tls: { mode: PASSTHROUGH }
    - port: { number: 443, name: missing, protocol: HTTPS }
      hosts: [missing.example.com]
      tls: { mode: SIMPLE, credentialName: nowhere }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: pass-backend, namespace: default }
spec:
  hosts: [pass-backend.internal]
  ports: [{ number: 443, name: tls, protocol: TLS }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { tls: ${passPort} } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: default }
spec:
  hosts: ['*.example.com']
  gateways: [multi]
  http: [{ route: [{ destination: { host: web, port: { number: 8000 } } }] }]
  tls:
    - match: [{ sniHosts: [pass.example.com] }]
      route: [{ destination: { host: pass-backend.internal, port: { number: 443 } } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: partners-only-admin, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  action: DENY
  rules:
    - from: [{ source: { notNamespaces: [partners] } }]
      to: [{ operation: { paths: [/admin*], ports: ['443'] } }]
`);
    gw = await startTestGateway({ mode: 'ingress', configs, services: [service], workloads: [workload] });
  });

  afterAll(async () => {
    await gw?.close();
    await backend?.close();
    passBackend?.close();
  });

  it('SNI picks each server certificate on one port (tls.crt/tls.key and cert/key Secret layouts)', async () => {
    const ra = await get(gw.port(443), 'a.example.com', '/status/200', { ca: ca.certPem });
    const rb = await get(gw.port(443), 'b.example.com', '/status/200', { ca: ca.certPem });
    expect([ra.status, rb.status]).toEqual([200, 200]);
    expect(ra.cert.subjectaltname).toBe('DNS:a.example.com');
    expect(rb.cert.subjectaltname).toBe('DNS:b.example.com');
  });

  it('minProtocolVersion TLSV1_3 refuses a TLS 1.2 client on that server only', async () => {
    await expect(
      get(gw.port(443), 'b.example.com', '/', { ca: ca.certPem, maxVersion: 'TLSv1.2' }),
    ).rejects.toThrow();
    const ok = await get(gw.port(443), 'a.example.com', '/status/200', {
      ca: ca.certPem,
      maxVersion: 'TLSv1.2',
    });
    expect(ok.protocol).toBe('TLSv1.2');
  });

  it('OPTIONAL_MUTUAL (CA from the <name>-cacert Secret): no certificate is fine, a valid one gives the principal', async () => {
    const anon = await get(gw.port(443), 'opt.example.com', '/admin/x', { ca: ca.certPem });
    expect(anon.status).toBe(403);
    const plainPath = await get(gw.port(443), 'opt.example.com', '/status/200', { ca: ca.certPem });
    expect(plainPath.status).toBe(200);
    const partner = await get(gw.port(443), 'opt.example.com', '/admin/x', {
      ca: ca.certPem,
      cert: client.chainPem,
      key: client.keyPem,
    });
    expect(partner.status).toBe(200);
  });

  it('OPTIONAL_MUTUAL: a certificate that does not verify is refused', async () => {
    await expect(
      get(gw.port(443), 'opt.example.com', '/status/200', {
        ca: ca.certPem,
        cert: stranger.chainPem,
        key: stranger.keyPem,
      }),
    ).rejects.toThrow();
  });

  it('PASSTHROUGH: the TLS connection reaches the backend by SNI, untouched', async () => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: gw.port(8443),
      servername: 'pass.example.com',
      ca: ca.certPem,
    });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => {
      text += c;
    });
    await once(socket, 'secureConnect');
    expect(socket.getPeerCertificate().subjectaltname).toBe('DNS:pass.example.com');
    socket.write('GET / HTTP/1.1\r\nhost: pass.example.com\r\n\r\n');
    await once(socket, 'end');
    expect(text).toContain('passthrough');
  });

  it('an unknown SNI, a missing credential and non-TLS bytes are refused without an answer', async () => {
    await expect(get(gw.port(443), 'nobody.org', '/', { ca: ca.certPem })).rejects.toThrow();
    await expect(get(gw.port(443), 'missing.example.com', '/', { ca: ca.certPem })).rejects.toThrow();
    const raw = netConnect({ host: '127.0.0.1', port: gw.port(443) });
    raw.write('GET / HTTP/1.1\r\n\r\n');
    raw.resume();
    await once(raw, 'close');
  });
});
