import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  createHbonePool,
  createHboneServer,
  directHandler,
  type HboneCredentials,
  type HbonePool,
  type HboneServer,
  staticCredentials,
} from '@weft/hbone';
import { createRegistry, silentLogger } from '@weft/telemetry';
import { TestCa } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticMeshView } from './mesh-view.js';
import { allowOrdersCharge, NS, SVC_PORT, service, VIP, workload } from './test-fixtures.js';
import { hboneConnector } from './upstream.js';
import { createWaypoint, type Waypoint } from './waypoint.js';

function httpOver(stream: Duplex, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      method,
      path,
      headers: { host: 'payments' },
      createConnection: () => stream as never,
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the waypoint behind HBONE, forwarding over HBONE', () => {
  let ca: TestCa;
  let backend: Server;
  let podServer: HboneServer;
  let waypointServer: HboneServer;
  let waypoint: Waypoint;
  let upstreamPool: HbonePool;
  let waypointPort: number;
  let waypointId: string;
  const clients = new Map<string, HbonePool>();
  const metrics = createRegistry({ processMetrics: false });

  const creds = async (ns: string, sa: string): Promise<HboneCredentials> => {
    const w = await ca.workload(ns, sa);
    return staticCredentials({
      identity: w.spiffeId,
      certChainPem: w.chainPem,
      keyPem: w.keyPem,
      rootsPem: ca.rootPem,
    });
  };

  beforeAll(async () => {
    ca = await TestCa.create();
    backend = createServer((req, res) => res.end(`${req.method} ${req.url}`));
    backend.listen(0, '127.0.0.1');
    await once(backend, 'listening');
    const backendPort = (backend.address() as AddressInfo).port;
    // The destination pod's HBONE inbound (what its node agent does): TLS, then to the app.
    podServer = createHboneServer({ credentials: await creds(NS, 'payments'), handler: directHandler() });
    const podAddr = await podServer.listen({ port: 0, host: '127.0.0.1' });
    const svc = service('payments', VIP, SVC_PORT, 'HTTP11');
    const view = new StaticMeshView({
      services: [svc],
      workloads: [workload('payments', '127.0.0.1', svc, backendPort, { tunnelProtocol: 'HBONE' })],
      configs: [allowOrdersCharge()],
    });
    const wpCreds = await creds(NS, 'waypoint');
    waypointId = wpCreds.identity;
    upstreamPool = createHbonePool({ credentials: wpCreds });
    waypoint = createWaypoint({
      view,
      waypoint: { name: 'waypoint', namespace: NS },
      connector: hboneConnector({ pool: upstreamPool, hbonePort: podAddr?.port ?? 0 }),
      registry: metrics,
      logger: silentLogger(),
      accessLog: false,
    });
    waypointServer = createHboneServer({ credentials: wpCreds, handler: waypoint.connectHandler });
    waypointPort = (await waypointServer.listen({ port: 0, host: '127.0.0.1' }))?.port ?? 0;
    clients.set('orders', createHbonePool({ credentials: await creds(NS, 'orders') }));
    clients.set('inventory', createHbonePool({ credentials: await creds(NS, 'inventory') }));
  });

  afterAll(async () => {
    for (const p of clients.values()) await p.close();
    await waypointServer.close();
    await upstreamPool.close();
    waypoint.close();
    await podServer.close();
    backend.close();
  });

  const call = async (sa: string, method: string, path: string) => {
    const tunnel = await (clients.get(sa) as HbonePool).open({
      nextHop: { host: '127.0.0.1', port: waypointPort },
      authority: `${VIP}:${SVC_PORT}`,
      expectedIdentities: [waypointId],
    });
    return httpOver(tunnel.stream, method, path);
  };

  it('orders POST /charge → 200, GET /charge → 403, inventory → 403', async () => {
    expect(await call('orders', 'POST', '/charge')).toEqual({ status: 200, body: 'POST /charge' });
    expect(await call('orders', 'GET', '/charge')).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect(await call('inventory', 'POST', '/charge')).toEqual({ status: 403, body: 'RBAC: access denied' });
  });

  it('reuses one upstream HBONE connection for many requests and reports Istio metrics', async () => {
    for (let i = 0; i < 5; i++) expect((await call('orders', 'POST', '/charge')).status).toBe(200);
    expect(upstreamPool.stats().handshakes).toBe(1);
    const text = await metrics.metrics();
    expect(text).toMatch(
      /istio_requests_total\{[^}]*reporter="waypoint"[^}]*source_principal="spiffe:\/\/cluster.local\/ns\/prod\/sa\/orders"[^}]*destination_service="payments.prod.svc.cluster.local"[^}]*response_code="200"[^}]*\} [1-9]/,
    );
    expect(text).toMatch(/istio_requests_total\{[^}]*response_code="403"[^}]*\} [1-9]/);
    expect(text).toContain('istio_request_duration_milliseconds_bucket');
  });

  it('refuses a CONNECT to an address it does not know with 503', async () => {
    await expect(
      (clients.get('orders') as HbonePool).open({
        nextHop: { host: '127.0.0.1', port: waypointPort },
        authority: '10.200.0.1:80',
        expectedIdentities: [waypointId],
      }),
    ).rejects.toThrow(/503/);
  });
});
