/**
 * A gateway assembled from the waypoint's parts: the same L7Engine (HTTP/1.1, HTTP/2, JWT,
 * AuthorizationPolicy, pooled upstreams, Istio metrics) with a per-request GatewayRouter, policies
 * selected by the gateway pods' labels, listeners per Gateway port (TLS SIMPLE / MUTUAL /
 * OPTIONAL_MUTUAL / PASSTHROUGH), and an upstream connector that originates TLS per DestinationRule.
 * Listeners follow the config: ports open and close, credentials rotate, without a restart.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import type { ConnectDecision, ConnectHandler, ConnectRequest } from '@weft/hbone';
import { componentLogger, counter, type Logger, type Registry } from '@weft/telemetry';
import { errorMessage } from '@weft/telemetry/errors';
import { duplexPair } from '../duplex-pair.js';
import { L7Engine } from '../engine.js';
import { DEFAULT_LIMITS, type HttpLimits } from '../http-deps.js';
import { httpFetcher, type JwksFetcher, JwksRegistry } from '../jwks.js';
import { EndpointIndex, type MeshView } from '../mesh-view.js';
import { WaypointPolicies } from '../policies.js';
import { type ConnInfo, WaypointTelemetry } from '../telemetry.js';
import type { UpstreamConnector } from '../upstream.js';
import { UpstreamClients } from '../upstream-clients.js';
import { type CredentialSource, SecretCredentials } from './credentials.js';
import { GatewayErrorCode } from './errors.js';
import { type DownstreamInfo, PortListener, type RefusalReason } from './listener.js';
import { originatingConnector, originationCredentialNames } from './origination.js';
import { resolveUpstream } from './registry.js';
import { GatewayRouter, type OutboundTrafficPolicy } from './router.js';
import { buildRoutes, matchTlsRoute, pickWeighted, type RouteTable } from './routes.js';
import { type GatewayServer, planServers, type ServerPlan } from './servers.js';

export type GatewayMode = 'ingress' | 'egress';

/** The labels Istio's gateway deployments carry (what Gateway and AuthorizationPolicy selectors match). */
export function defaultGatewayLabels(mode: GatewayMode, name: string): Record<string, string> {
  return {
    istio: mode === 'ingress' ? 'ingressgateway' : 'egressgateway',
    app: mode === 'ingress' ? 'istio-ingressgateway' : 'istio-egressgateway',
    'gateway.networking.k8s.io/gateway-name': name,
    'istio.io/gateway-name': name,
  };
}

export interface GatewayOptions {
  mode: GatewayMode;
  /** Discovery state (an XdsStore with role "gateway", or a StaticMeshView). */
  view: MeshView;
  /** This gateway deployment's name and namespace (credentialName Secrets are read from it). */
  name: string;
  namespace: string;
  /** The gateway pods' labels (default: Istio's for the mode). */
  labels?: Record<string, string>;
  /** How to reach endpoints: hboneConnector in the mesh (plain TCP for pods outside it). */
  connector: UpstreamConnector;
  /** Where credentialName resolves (default: Secrets from discovery in `namespace`). */
  credentials?: CredentialSource;
  /** The gateway's mesh SecureContext (ISTIO_MUTUAL origination). */
  meshContext?: () => SecureContext;
  registry: Registry;
  logger: Logger;
  accessLog?: boolean;
  limits?: Partial<HttpLimits>;
  jwksFetcher?: JwksFetcher;
  rootNamespace?: string;
  /** Address the Gateway ports bind on (default 0.0.0.0). */
  listenHost?: string;
  /** Gateway port → port to bind (default: the same; tests bind 0 for an ephemeral one). */
  portMap?: (port: number) => number;
  /** ALPN offered on terminated TLS (default ['http/1.1']). */
  alpn?: readonly string[];
  /** Egress: what to do with hosts no ServiceEntry declares (default ALLOW_ANY, Istio's default). */
  outboundTrafficPolicy?: OutboundTrafficPolicy;
  handshakeTimeoutMs?: number;
}

export interface Gateway {
  /** Binds the ports of the current config; later config changes open and close ports by themselves. */
  start(): Promise<void>;
  /** Gateway port → bound port, for the ports open now. */
  boundPorts(): ReadonlyMap<number, number>;
  /** Resolves after pending listener changes are applied. */
  settled(): Promise<void>;
  /** HBONE in (mesh workloads sending to the egress gateway): hand to createHboneServer({ handler }). */
  readonly connectHandler: ConnectHandler;
  readonly policies: WaypointPolicies;
  configDump(): unknown;
  close(): Promise<void>;
}

function appProtocolOf(s: GatewayServer): 'HTTP11' | 'HTTP2' | 'TCP' {
  switch (s.protocol) {
    case 'HTTP2':
    case 'GRPC':
      return 'HTTP2';
    case 'HTTP':
    case 'HTTPS':
      return 'HTTP11';
    default:
      return 'TCP';
  }
}

export function createGateway(options: GatewayOptions): Gateway {
  const logger = componentLogger(options.logger, `${options.mode}-gateway`);
  const labels = options.labels ?? defaultGatewayLabels(options.mode, options.name);
  const limits: HttpLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const { view } = options;
  const secrets =
    options.credentials === undefined
      ? new SecretCredentials(() => view.configs, options.namespace)
      : undefined;
  const credentials: CredentialSource = options.credentials ?? (secrets as SecretCredentials);
  const jwks = new JwksRegistry(options.jwksFetcher ?? httpFetcher());
  const policies = new WaypointPolicies({
    view,
    waypoint: { name: options.name, namespace: options.namespace },
    keys: (p) => jwks.keysFor(p),
    gatewayLabels: labels,
    ...(options.rootNamespace === undefined ? {} : { rootNamespace: options.rootNamespace }),
    logger: componentLogger(options.logger, 'policy'),
  });
  const index = new EndpointIndex(view);
  const me = { name: options.name, namespace: options.namespace, labels };
  let plan: ServerPlan | undefined;
  let table: RouteTable | undefined;
  const currentPlan = (): ServerPlan => {
    plan ??= planServers(view.configs.values(), me);
    return plan;
  };
  const currentTable = (): RouteTable => {
    if (table !== undefined) return table;
    const istioGateways = new Set<string>();
    const apiGateways = new Set<string>();
    for (const servers of currentPlan().ports.values())
      for (const s of servers) (s.api === 'istio' ? istioGateways : apiGateways).add(s.gateway);
    table = buildRoutes(view.configs.values(), { istioGateways, apiGateways });
    for (const p of table.problems) logger.warn({ code: GatewayErrorCode.BadRoute }, p);
    return table;
  };
  // Connections that came in over HBONE: their CONNECT authority is the workload's original destination.
  const viaHbone = new WeakSet<ConnInfo>();
  const router = new GatewayRouter({
    mode: options.mode,
    view,
    index,
    table: currentTable,
    outboundTrafficPolicy: options.outboundTrafficPolicy ?? 'ALLOW_ANY',
    originalDestination: (conn) =>
      viaHbone.has(conn) ? { ip: conn.dest.ip, port: conn.dest.port } : undefined,
  });
  const connector = originatingConnector({
    base: options.connector,
    planFor: (ep) => router.planFor(ep),
    credentials,
    ...(options.meshContext === undefined ? {} : { meshContext: options.meshContext }),
  });
  const clients = new UpstreamClients({ connector });
  const telemetry = new WaypointTelemetry({
    registry: options.registry,
    ...(options.accessLog === false ? {} : { accessLog: componentLogger(options.logger, 'access') }),
  });
  const engine = new L7Engine({
    policies,
    endpoints: index,
    clients,
    connector,
    telemetry,
    logger,
    limits,
    router,
  });
  const refused = counter(
    options.registry,
    'weft_gateway_downstream_refused_total',
    'Downstream connections the gateway refused before HTTP (TLS handshake, client certificate, no server)',
    ['port', 'reason'],
  );

  const connInfo = (
    peerIdentity: string,
    sourceIp: string,
    ip: string,
    port: number,
    s?: GatewayServer,
  ): ConnInfo => ({
    peerIdentity,
    sourceIp,
    sourceWorkload: view.workloadByIp(sourceIp),
    dest: { ip, port, appProtocol: s === undefined ? 'HTTP11' : appProtocolOf(s) },
  });

  const onHttp = (stream: Duplex, info: DownstreamInfo): void => {
    const conn = connInfo(info.principal, info.sourceIp, info.localIp, info.port, info.server);
    if (conn.dest.appProtocol === 'TCP') {
      logger.debug({ port: info.port }, 'TCP/TLS-terminated servers are not routed; closing');
      stream.destroy();
      return;
    }
    engine.handle(stream, conn);
  };

  const onPassthrough = (socket: Socket, head: Buffer, info: DownstreamInfo): void => {
    const dests = matchTlsRoute(currentTable(), info.port, info.sni);
    const d = dests === undefined ? undefined : pickWeighted(dests);
    const up = d === undefined ? undefined : resolveUpstream(view, index, d.host, d.port, d.namespace);
    if (up === undefined) {
      onRefused(info.port, 'no_server', info.sni);
      socket.destroy();
      return;
    }
    engine.tcp.handle(
      socket,
      { ...connInfo('', info.sourceIp, up.dest.ip, up.dest.port), dest: up.dest },
      head,
    );
  };

  const onRefused = (port: number, reason: RefusalReason, detail?: string): void => {
    refused.inc({ port: String(port), reason });
    logger.debug({ port, reason, detail }, 'downstream connection refused');
  };

  const listeners = new Map<number, { listener: PortListener; bound: number }>();
  const listenHost = options.listenHost ?? '0.0.0.0';
  const portMap = options.portMap ?? ((p: number) => p);
  let closed = false;
  let chain: Promise<void> = Promise.resolve();

  const reconcile = async (): Promise<void> => {
    if (closed) return;
    const { ports, problems } = currentPlan();
    for (const p of problems) logger.warn({ code: GatewayErrorCode.BadRoute }, p);
    for (const [port, servers] of ports) {
      let entry = listeners.get(port);
      if (entry === undefined) {
        const listener = new PortListener(port, {
          credentials,
          alpn: options.alpn ?? ['http/1.1'],
          logger,
          handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
          onHttp,
          onPassthrough,
          onRefused,
        });
        listener.update(servers);
        try {
          const bound = await listener.listen(listenHost, portMap(port));
          entry = { listener, bound };
          listeners.set(port, entry);
          logger.info({ port, bound, servers: servers.length }, 'gateway port listening');
        } catch (err) {
          logger.error(
            { code: GatewayErrorCode.Listen, port, err: errorMessage(err) },
            'gateway port not bound',
          );
          continue;
        }
      } else entry.listener.update(servers);
      credentials.want(entry.listener.credentialNames());
    }
    credentials.want(originationCredentialNames(view.configs.values()));
    for (const [port, entry] of listeners) {
      if (ports.has(port)) continue;
      listeners.delete(port);
      await entry.listener.close();
      logger.info({ port }, 'gateway port closed');
    }
  };
  const schedule = (): Promise<void> => {
    chain = chain.then(reconcile, reconcile);
    return chain;
  };
  const unsubscribe = view.onChange(() => {
    plan = undefined;
    table = undefined;
    secrets?.changed();
    void schedule();
  });

  const connectHandler: ConnectHandler = (request: ConnectRequest): ConnectDecision => {
    const conn = connInfo(request.peerIdentity, request.connection.remoteAddress, request.host, request.port);
    viaHbone.add(conn);
    const [outer, inner] = duplexPair();
    inner.remoteAddress = request.connection.remoteAddress;
    inner.remotePort = request.connection.remotePort;
    inner.localAddress = request.host;
    inner.localPort = request.port;
    engine.handle(inner, conn);
    return { upstream: outer };
  };

  return {
    start: schedule,
    settled: () => chain,
    boundPorts: () => new Map([...listeners].map(([p, e]) => [p, e.bound])),
    connectHandler,
    policies,
    configDump: () => ({
      mode: options.mode,
      gateway: `${options.namespace}/${options.name}`,
      labels,
      ports: [...listeners].map(([port, e]) => ({ port, bound: e.bound })),
      servers: [...currentPlan().ports.values()].flat(),
      problems: [...currentPlan().problems, ...currentTable().problems],
      routes: { http: currentTable().http.length, tls: currentTable().tls.length },
      policies: policies.dump(),
      upstreams: clients.stats(),
    }),
    close: async () => {
      closed = true;
      unsubscribe();
      await chain.catch(() => {});
      await Promise.all([...listeners.values()].map((e) => e.listener.close()));
      listeners.clear();
      engine.close();
      clients.close();
      index.close();
      policies.close();
      credentials.close();
    },
  };
}
