import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { TestCa, waitFor } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configsFromYaml, plainGet, startTestGateway, statusBackend } from './test-fixtures.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('egress gateway: plaintext in, TLS originated per DestinationRule', () => {
  let dir: string;
  let external: Server;
  let extPort: number;
  let gw: Awaited<ReturnType<typeof startTestGateway>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-egress-'));
    const extCa = await TestCa.create({ name: 'External CA' });
    const serverCert = await extCa.issue({ dnsNames: ['external.example', 'wrong-san.example'] });
    const gatewayClient = await extCa.issue({ uris: ['spiffe://cluster.local/ns/istio-system/sa/egress'] });
    writeFileSync(join(dir, 'client.pem'), gatewayClient.chainPem);
    writeFileSync(join(dir, 'client.key'), gatewayClient.keyPem);
    writeFileSync(join(dir, 'ca.pem'), extCa.certPem);
    // The external service requires a client certificate from its CA (like `openssl s_server -Verify`).
    external = createHttpsServer(
      {
        cert: serverCert.chainPem,
        key: serverCert.keyPem,
        ca: extCa.certPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.end(
          JSON.stringify({
            client: peer.subjectaltname,
            host: req.headers.host,
            sni: (req.socket as TLSSocket).servername,
          }),
        );
      },
    );
    external.listen(0, '127.0.0.1');
    await once(external, 'listening');
    extPort = (external.address() as AddressInfo).port;
    const entry = (host: string) => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${host.split('.')[0]}, namespace: default }
spec:
  hosts: [${host}]
  ports: [{ number: 443, name: https, protocol: HTTPS }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { https: ${extPort} } }]
`;
    const configs = configsFromYaml(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: egress, namespace: istio-system }
spec:
  selector: { istio: egressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ['*'] }]
---
${entry('external.example')}
---
${entry('wrong-san.example')}
---
${entry('by-secret.example')}
---
${entry('no-cert.example')}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: external, namespace: default }
spec:
  host: external.example
  trafficPolicy:
    tls:
      mode: MUTUAL
      clientCertificate: ${join(dir, 'client.pem')}
      privateKey: ${join(dir, 'client.key')}
      caCertificates: ${join(dir, 'ca.pem')}
      sni: external.example
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: wrong-san, namespace: default }
spec:
  host: wrong-san.example
  trafficPolicy:
    portLevelSettings:
      - port: { number: 443 }
        tls: { mode: SIMPLE, caCertificates: ${join(dir, 'ca.pem')}, subjectAltNames: [somebody-else.example] }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: by-secret, namespace: default }
spec:
  host: by-secret.example
  trafficPolicy:
    tls: { mode: MUTUAL, credentialName: ext-client, sni: external.example }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: no-cert, namespace: default }
spec:
  host: no-cert.example
  trafficPolicy:
    tls: { mode: SIMPLE, caCertificates: ${join(dir, 'ca.pem')}, sni: external.example }
---
apiVersion: v1
kind: Secret
metadata: { name: ext-client, namespace: istio-system }
data:
  tls.crt: ${b64(gatewayClient.chainPem)}
  tls.key: ${b64(gatewayClient.keyPem)}
  ca.crt: ${b64(extCa.certPem)}
`);
    gw = await startTestGateway({
      mode: 'egress',
      configs,
      extra: { outboundTrafficPolicy: 'REGISTRY_ONLY' },
    });
  });

  afterAll(async () => {
    await gw?.close();
    external?.closeAllConnections();
    external?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const call = (host: string) => plainGet(gw.port(80), host, '/get');

  it('MUTUAL with clientCertificate/privateKey files: the external server sees the gateway certificate', async () => {
    const r = await call('external.example');
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body) as { client: string; host: string; sni: string };
    expect(seen.client).toContain('spiffe://cluster.local/ns/istio-system/sa/egress');
    expect(seen.host).toBe('external.example');
    expect(seen.sni).toBe('external.example');
  });

  it('MUTUAL with credentialName (a Secret in the gateway namespace)', async () => {
    const r = await call('by-secret.example');
    expect(r.status).toBe(200);
    expect(r.body).toContain('spiffe://cluster.local/ns/istio-system/sa/egress');
  });

  it('SIMPLE origination refuses a server whose SANs match none of subjectAltNames', async () => {
    const r = await call('wrong-san.example');
    expect(r.status).toBe(503);
  });

  it('SIMPLE without a client certificate: the external server refuses, the client gets 503', async () => {
    const r = await call('no-cert.example');
    expect(r.status).toBe(503);
  });

  it('REGISTRY_ONLY: a host no ServiceEntry declares gets 502 naming it', async () => {
    const r = await call('unknown.example');
    expect(r.status).toBe(502);
    expect(r.body).toMatch(/WEFT_GATEWAY_UNKNOWN_HOST: unknown\.example/);
  });
});

describe('egress gateway with ALLOW_ANY (Istio default)', () => {
  it('passes an undeclared host through to the HBONE original destination only, never to a Host', async () => {
    const backend = await statusBackend();
    const gw = await startTestGateway({
      mode: 'egress',
      configs: configsFromYaml(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: egress, namespace: istio-system }
spec:
  selector: { istio: egressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ['*'] }]
`),
    });
    try {
      // A Gateway port has no original destination: the Host header must not pick one (no open proxy).
      const direct = await plainGet(gw.port(80), `127.0.0.1:${backend.port}`, '/status/207');
      expect(direct.status).toBe(502);
      expect(direct.body).toContain('no original destination');
      // HBONE in: the CONNECT authority is where the workload was going.
      const decision = await gw.gateway.connectHandler({
        peerIdentity: 'spiffe://cluster.local/ns/prod/sa/orders',
        peerIdentities: ['spiffe://cluster.local/ns/prod/sa/orders'],
        authority: `127.0.0.1:${backend.port}`,
        host: '127.0.0.1',
        port: backend.port,
        headers: {},
        connection: {
          remoteAddress: '127.0.0.1',
          remotePort: 1,
          localAddress: '127.0.0.1',
          localPort: 15008,
        },
        signal: new AbortController().signal,
      } as unknown as Parameters<typeof gw.gateway.connectHandler>[0]);
      if (!('upstream' in decision)) throw new Error(`refused: ${decision.reason}`);
      const tunnel = decision.upstream;
      let text = '';
      tunnel.on('data', (c: Buffer) => {
        text += c.toString();
      });
      tunnel.write('GET /status/207 HTTP/1.1\r\nhost: unknown.example\r\nconnection: close\r\n\r\n');
      await waitFor(() => text.includes('\r\n\r\n'));
      expect(text).toMatch(/^HTTP\/1\.1 207/);
      tunnel.destroy();
    } finally {
      await gw.close();
      await backend.close();
    }
  });
});
