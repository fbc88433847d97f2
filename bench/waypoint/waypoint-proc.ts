/**
 * The waypoint engine under test, in its own process so its CPU time can be measured: a StaticMeshView
 * with the benchmark's services and policies, forwarding over plain TCP to the app, with a plaintext TCP
 * front door per service (the HBONE hop is measured by bench/hbone). Prints `{"h1": port, "h2": port}`.
 *   node --import tsx bench/waypoint/waypoint-proc.ts <app-h1-port> <app-h2-port> <jwk.json>
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import type { Service, Workload } from '@weft/config';
import { createRegistry, silentLogger } from '@weft/telemetry';
import { createWaypoint, StaticMeshView, tcpConnector } from '@weft/waypoint';
import { benchConfigs, CLIENT, NS } from './fixture.js';

const [h1Port, h2Port, jwkFile] = process.argv.slice(2);
const jwk = JSON.parse(readFileSync(jwkFile as string, 'utf8'));

function service(name: string, vip: string, appProtocol: Service['ports'][number]['appProtocol']): Service {
  return {
    name,
    namespace: NS,
    hostname: `${name}.${NS}.svc.cluster.local`,
    addresses: [{ network: '', ip: vip }],
    ports: [{ servicePort: 80, targetPort: 0, appProtocol }],
    subjectAltNames: [],
    ingressUseWaypoint: false,
  };
}

function workload(name: string, svc: Service, port: number): Workload {
  return {
    uid: `Kubernetes//Pod/${NS}/${name}`,
    name,
    namespace: NS,
    addresses: ['127.0.0.1'],
    network: '',
    tunnelProtocol: 'NONE',
    trustDomain: 'cluster.local',
    serviceAccount: name,
    node: 'bench',
    canonicalName: name,
    canonicalRevision: 'v1',
    workloadType: 'POD',
    workloadName: name,
    services: {
      [`${NS}/${svc.hostname}`]: [
        { servicePort: 80, targetPort: port, appProtocol: svc.ports[0]?.appProtocol ?? 'UNKNOWN' },
      ],
    },
    authorizationPolicies: [],
    status: 'HEALTHY',
    clusterId: 'Kubernetes',
  };
}

const s1 = service('payments', '10.96.0.1', 'HTTP11');
const s2 = service('payments-h2', '10.96.0.2', 'HTTP2');
const view = new StaticMeshView({
  services: [s1, s2],
  workloads: [workload('payments', s1, Number(h1Port)), workload('payments-h2', s2, Number(h2Port))],
  configs: benchConfigs(jwk),
});
const waypoint = createWaypoint({
  view,
  waypoint: { name: 'waypoint', namespace: NS },
  connector: tcpConnector(),
  registry: createRegistry({ processMetrics: false }),
  logger: silentLogger(),
  accessLog: false,
});

async function front(vip: string): Promise<number> {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
    waypoint.serve(socket, {
      peerIdentity: CLIENT,
      sourceIp: '127.0.0.1',
      destinationIp: vip,
      destinationPort: 80,
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

process.stdout.write(`${JSON.stringify({ h1: await front('10.96.0.1'), h2: await front('10.96.0.2') })}\n`);
// A clean exit on SIGINT/SIGTERM (so --cpu-prof can write its profile).
process.once('SIGINT', () => process.exit(0));
process.once('SIGTERM', () => process.exit(0));
