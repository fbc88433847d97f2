// Shared by this package's tests and benchmarks (not exported from index.ts).
import { once } from 'node:events';
import { type Agent, type IncomingMessage, request } from 'node:http';
import { type AddressInfo, createServer, type Server } from 'node:net';
import type { AppProtocol, ConfigObject, Service, Workload } from '@weft/config';
import { createRegistry, silentLogger } from '@weft/telemetry';
import { StaticMeshView } from './mesh-view.js';
import { tcpConnector } from './upstream.js';
import { createWaypoint, type StreamInfo, type Waypoint, type WaypointOptions } from './waypoint.js';

export const NS = 'prod';
export const VIP = '10.96.0.10';
export const SVC_PORT = 80;
export const ORDERS = 'spiffe://cluster.local/ns/prod/sa/orders';
export const OTHER = 'spiffe://cluster.local/ns/prod/sa/inventory';

export function workload(
  name: string,
  ip: string,
  svc: Service | undefined,
  targetPort: number,
  extra: Partial<Workload> = {},
): Workload {
  return {
    uid: `Kubernetes//Pod/${NS}/${name}`,
    name,
    namespace: NS,
    addresses: [ip],
    network: '',
    tunnelProtocol: 'NONE',
    trustDomain: 'cluster.local',
    serviceAccount: name,
    node: 'node-a',
    canonicalName: name,
    canonicalRevision: 'v1',
    workloadType: 'POD',
    workloadName: name,
    services:
      svc === undefined
        ? {}
        : { [`${svc.namespace}/${svc.hostname}`]: svc.ports.map((p) => ({ ...p, targetPort })) },
    authorizationPolicies: [],
    status: 'HEALTHY',
    clusterId: 'Kubernetes',
    ...extra,
  };
}

export function service(
  name: string,
  vip: string,
  port: number,
  appProtocol: AppProtocol = 'UNKNOWN',
): Service {
  return {
    name,
    namespace: NS,
    hostname: `${name}.${NS}.svc.cluster.local`,
    addresses: [{ network: '', ip: vip }],
    ports: [{ servicePort: port, targetPort: 0, appProtocol }],
    subjectAltNames: [],
    ingressUseWaypoint: false,
  };
}

export function config(object: Record<string, unknown>): ConfigObject {
  const meta = object.metadata as { name: string; namespace?: string };
  return {
    apiVersion: String(object.apiVersion),
    kind: String(object.kind),
    namespace: meta.namespace ?? NS,
    name: meta.name,
    object,
  };
}

/** The brief's policy: orders may POST /charge on the payments service, bound to the waypoint. */
export function allowOrdersCharge(name = 'payments-allow-orders'): ConfigObject {
  return config({
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace: NS },
    spec: {
      targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }],
      action: 'ALLOW',
      rules: [
        {
          from: [{ source: { principals: ['cluster.local/ns/prod/sa/orders'] } }],
          to: [{ operation: { methods: ['POST'], paths: ['/charge'] } }],
        },
      ],
    },
  });
}

export interface Harness {
  view: StaticMeshView;
  waypoint: Waypoint;
  svc: Service;
  /** A loopback listener whose connections are served as coming from `info`. */
  frontDoor(info?: Partial<StreamInfo>): Promise<number>;
  close(): Promise<void>;
}

/** A waypoint over a static mesh: one service (VIP:80) whose endpoint is a local backend on `backendPort`. */
export async function harness(
  backendPort: number,
  options: { appProtocol?: AppProtocol; configs?: ConfigObject[]; waypoint?: Partial<WaypointOptions> } = {},
): Promise<Harness> {
  const svc = service('payments', VIP, SVC_PORT, options.appProtocol ?? 'UNKNOWN');
  const view = new StaticMeshView({
    services: [svc],
    workloads: [workload('payments', '127.0.0.1', svc, backendPort)],
    configs: options.configs ?? [],
  });
  const waypoint = createWaypoint({
    view,
    waypoint: { name: 'waypoint', namespace: NS },
    connector: tcpConnector(),
    registry: createRegistry({ processMetrics: false }),
    logger: silentLogger(),
    accessLog: false,
    sniffTimeoutMs: 200,
    ...options.waypoint,
  });
  const servers: Server[] = [];
  return {
    view,
    waypoint,
    svc,
    async frontDoor(info = {}) {
      const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
        waypoint.serve(socket, {
          peerIdentity: ORDERS,
          sourceIp: socket.remoteAddress ?? '',
          destinationIp: VIP,
          destinationPort: SVC_PORT,
          ...info,
        });
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      servers.push(server);
      return (server.address() as AddressInfo).port;
    },
    async close() {
      waypoint.close();
      for (const s of servers) {
        s.close();
      }
    },
  };
}

export interface HttpReply {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** One HTTP/1.1 request to a local port (Host: payments, no connection reuse unless an agent is given). */
export function sendHttp(
  port: number,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer | string; agent?: Agent } = {},
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      method,
      path,
      headers: { host: 'payments', ...options.headers },
      agent: options.agent ?? false,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
