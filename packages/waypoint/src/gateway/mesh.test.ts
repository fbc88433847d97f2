import { once } from 'node:events';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext, type TLSSocket } from 'node:tls';
import {
  createHbonePool,
  createHboneServer,
  directHandler,
  type HbonePool,
  type HboneServer,
  staticCredentials,
} from '@weft/hbone';
import { TestCa } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hboneConnector } from '../upstream.js';
import { backendService, configsFromYaml, plainGet, startTestGateway } from './test-fixtures.js';

describe('gateway ↔ mesh: ingress into HBONE pods, ISTIO_MUTUAL origination with the mesh certificate', () => {
  let ca: TestCa;
  let app: Server;
  let pod: HboneServer;
  let pool: HbonePool;
  let meshTls: Server;
  let gw: Awaited<ReturnType<typeof startTestGateway>>;
  const seen: string[] = [];

  beforeAll(async () => {
    ca = await TestCa.create();
    app = createHttpServer((req, res) => res.end(`app saw ${req.url}`));
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const appPort = (app.address() as AddressInfo).port;
    // The pod's HBONE inbound (its node agent): mTLS with the pod identity, then to the app.
    const podCert = await ca.workload('default', 'web');
    pod = createHboneServer({
      credentials: staticCredentials({
        identity: podCert.spiffeId,
        certChainPem: podCert.chainPem,
        keyPem: podCert.keyPem,
        rootsPem: ca.rootPem,
      }),
      handler: async (req) => {
        seen.push(req.peerIdentity);
        return directHandler()(req);
      },
    });
    const podPort = (await pod.listen({ port: 0, host: '127.0.0.1' }))?.port ?? 0;
    const gwCert = await ca.workload('istio-system', 'istio-ingressgateway');
    const gwCreds = staticCredentials({
      identity: gwCert.spiffeId,
      certChainPem: gwCert.chainPem,
      keyPem: gwCert.keyPem,
      rootsPem: ca.rootPem,
    });
    pool = createHbonePool({ credentials: gwCreds });
    // A server that only accepts mesh certificates (what ISTIO_MUTUAL talks to).
    const meshServer = await ca.workload('default', 'legacy');
    meshTls = createHttpsServer(
      {
        cert: meshServer.chainPem,
        key: meshServer.keyPem,
        ca: ca.rootPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => res.end(`legacy saw ${(req.socket as TLSSocket).getPeerCertificate().subjectaltname}`),
    );
    meshTls.listen(0, '127.0.0.1');
    await once(meshTls, 'listening');
    const meshTlsPort = (meshTls.address() as AddressInfo).port;

    const { service, workload } = backendService('web', 'default', 80, appPort);
    const configs = configsFromYaml(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: web, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ['*'] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: default }
spec:
  hosts: [web.example.com]
  gateways: [web]
  http: [{ route: [{ destination: { host: web.default.svc.cluster.local, port: { number: 80 } } }] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: legacy, namespace: default }
spec:
  hosts: [legacy.example.com]
  gateways: [web]
  http: [{ route: [{ destination: { host: legacy.internal, port: { number: 443 } } }] }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: legacy, namespace: default }
spec:
  hosts: [legacy.internal]
  ports: [{ number: 443, name: tls, protocol: TLS }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { tls: ${meshTlsPort} } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: legacy, namespace: default }
spec:
  host: legacy.internal
  trafficPolicy:
    tls: { mode: ISTIO_MUTUAL, subjectAltNames: ['${meshServer.spiffeId}'] }
`);
    gw = await startTestGateway({
      mode: 'ingress',
      configs,
      services: [service],
      workloads: [{ ...workload, tunnelProtocol: 'HBONE' }],
      extra: {
        connector: hboneConnector({ pool, hbonePort: podPort }),
        meshContext: () => createSecureContext({ cert: gwCert.chainPem, key: gwCert.keyPem, ca: ca.rootPem }),
      },
    });
  });

  afterAll(async () => {
    await gw?.close();
    await pool?.close();
    await pod?.close();
    app?.close();
    meshTls?.close();
  });

  it('routes into a mesh pod over HBONE with the gateway identity', async () => {
    const r = await plainGet(gw.port(80), 'web.example.com', '/hello');
    expect(r).toEqual({ status: 200, body: 'app saw /hello' });
    expect(seen).toContain('spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway');
  });

  it('ISTIO_MUTUAL originates TLS with the mesh certificate and checks the server SPIFFE ID', async () => {
    const r = await plainGet(gw.port(80), 'legacy.example.com', '/');
    expect(r.status).toBe(200);
    expect(r.body).toContain('URI:spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway');
  });
});
