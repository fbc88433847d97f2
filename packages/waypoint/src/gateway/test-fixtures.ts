// Shared by the gateway tests, the e2e walkthrough and bench/ingress (not exported from index.ts).
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConfigObject, Service, Workload } from '@weft/config';
import { parseYaml } from '@weft/config';
import { createRegistry, silentLogger } from '@weft/telemetry';
import { StaticMeshView } from '../mesh-view.js';
import { tcpConnector } from '../upstream.js';
import type { CredentialSource } from './credentials.js';
import { createGateway, type Gateway, type GatewayOptions } from './gateway.js';

export const BACKEND_VIP = '10.96.0.20';

/** Parsed YAML documents → config objects (the shape discovery delivers). */
export function configsFromYaml(text: string): ConfigObject[] {
  const parsed = parseYaml(text, 'test.yaml');
  if (parsed.problems.length > 0) throw new Error(`bad test YAML: ${JSON.stringify(parsed.problems)}`);
  return parsed.objects.map((o) => ({
    apiVersion: o.apiVersion,
    kind: o.kind,
    namespace: o.namespace,
    name: o.name,
    object: o.object,
  }));
}

/** A Service `<name>.<ns>.svc.cluster.local` (VIP:port) whose one pod, outside the mesh, is 127.0.0.1:targetPort. */
export function backendService(
  name: string,
  namespace: string,
  port: number,
  targetPort: number,
): { service: Service; workload: Workload } {
  const hostname = `${name}.${namespace}.svc.cluster.local`;
  const service: Service = {
    name,
    namespace,
    hostname,
    addresses: [{ network: '', ip: BACKEND_VIP }],
    ports: [{ servicePort: port, targetPort, appProtocol: 'HTTP11' }],
    subjectAltNames: [],
    ingressUseWaypoint: false,
  };
  const workload: Workload = {
    uid: `Kubernetes//Pod/${namespace}/${name}-0`,
    name: `${name}-0`,
    namespace,
    addresses: ['127.0.0.1'],
    network: '',
    tunnelProtocol: 'NONE',
    trustDomain: 'cluster.local',
    serviceAccount: name,
    node: 'node-a',
    canonicalName: name,
    canonicalRevision: 'v1',
    workloadType: 'POD',
    workloadName: name,
    services: { [`${namespace}/${hostname}`]: [{ servicePort: port, targetPort, appProtocol: 'HTTP11' }] },
    authorizationPolicies: [],
    status: 'HEALTHY',
    clusterId: 'Kubernetes',
  };
  return { service, workload };
}

/** A tiny httpbin: /status/N answers N, anything else 200 with the request as JSON. */
export async function statusBackend(): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const m = /^\/status\/(\d{3})/.exec(req.url ?? '');
    if (m !== null) {
      res.writeHead(Number(m[1]), { 'content-length': 0 }).end();
      return;
    }
    const body = JSON.stringify({ url: req.url, headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An in-process gateway on ephemeral loopback ports over a static view. */
export async function startTestGateway(options: {
  mode: 'ingress' | 'egress';
  configs: ConfigObject[];
  services?: Service[];
  workloads?: Workload[];
  credentials?: CredentialSource;
  extra?: Partial<GatewayOptions>;
}): Promise<{ gateway: Gateway; view: StaticMeshView; port(p: number): number; close(): Promise<void> }> {
  const view = new StaticMeshView({
    configs: options.configs,
    services: options.services ?? [],
    workloads: options.workloads ?? [],
  });
  const gateway = createGateway({
    mode: options.mode,
    view,
    name: options.mode === 'ingress' ? 'istio-ingressgateway' : 'istio-egressgateway',
    namespace: 'istio-system',
    connector: tcpConnector(),
    registry: createRegistry({ processMetrics: false }),
    logger: silentLogger(),
    accessLog: false,
    listenHost: '127.0.0.1',
    portMap: () => 0,
    handshakeTimeoutMs: 5_000,
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...options.extra,
  });
  await gateway.start();
  return {
    gateway,
    view,
    port: (p) => {
      const bound = gateway.boundPorts().get(p);
      if (bound === undefined) throw new Error(`gateway port ${p} is not listening`);
      return bound;
    },
    close: () => gateway.close(),
  };
}

/** HTTP/1.1 GET to 127.0.0.1:port with an explicit Host (fetch cannot set one). */
export function plainGet(
  port: number,
  host: string,
  path: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
