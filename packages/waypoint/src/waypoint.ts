/**
 * A waypoint assembled from its parts: discovery view → policies and endpoints; the L7 engine; the HBONE
 * ConnectHandler that terminates each CONNECT stream into the engine. Sockets and processes are the
 * caller's (main.ts); this wiring is what tests and benchmarks drive directly.
 */
import type { Duplex } from 'node:stream';
import type { ConnectDecision, ConnectHandler, ConnectRequest } from '@weft/hbone';
import { componentLogger, counter, type Logger, type Registry } from '@weft/telemetry';
import { errorMessage } from '@weft/telemetry/errors';
import { duplexPair } from './duplex-pair.js';
import { L7Engine } from './engine.js';
import { DEFAULT_LIMITS, type HttpLimits } from './http-deps.js';
import { httpFetcher, type JwksFetcher, JwksRegistry } from './jwks.js';
import { EndpointIndex, type MeshView, resolveDestination } from './mesh-view.js';
import { RBAC_DENIED } from './pipeline.js';
import { WaypointPolicies, type WaypointRef } from './policies.js';
import { authorizeTcp, connectAny } from './tcp-proxy.js';
import { type ConnInfo, WaypointTelemetry } from './telemetry.js';
import type { UpstreamConnector } from './upstream.js';
import { UpstreamClients } from './upstream-clients.js';

export interface WaypointOptions {
  /** Discovery state (an XdsStore, or a StaticMeshView in tests). */
  view: MeshView;
  /** This waypoint's Gateway. */
  waypoint: WaypointRef;
  /** How to reach endpoints (hboneConnector in the mesh). */
  connector: UpstreamConnector;
  registry: Registry;
  logger: Logger;
  /** One line per request (default true). */
  accessLog?: boolean;
  limits?: Partial<HttpLimits>;
  /** How JWKS URIs are fetched (default HTTPS with the system roots). */
  jwksFetcher?: JwksFetcher;
  rootNamespace?: string;
  sniffTimeoutMs?: number;
  clusterId?: string;
}

/** Who is calling, for streams that do not come through the HBONE handler. */
export interface StreamInfo {
  peerIdentity: string;
  sourceIp: string;
  /** The :authority the client addressed (service VIP or pod IP, and port). */
  destinationIp: string;
  destinationPort: number;
}

export interface Waypoint {
  /** Hand to createHboneServer({ handler }). */
  readonly connectHandler: ConnectHandler;
  /** Serve one stream directly (tests, benchmarks, gateways). */
  serve(stream: Duplex, info: StreamInfo): void;
  readonly policies: WaypointPolicies;
  readonly jwks: JwksRegistry;
  configDump(): unknown;
  close(): void;
}

export function createWaypoint(options: WaypointOptions): Waypoint {
  const logger = componentLogger(options.logger, 'waypoint');
  const limits: HttpLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const jwks = new JwksRegistry(options.jwksFetcher ?? httpFetcher());
  const policies = new WaypointPolicies({
    view: options.view,
    waypoint: options.waypoint,
    keys: (p) => jwks.keysFor(p),
    ...(options.rootNamespace === undefined ? {} : { rootNamespace: options.rootNamespace }),
    logger: componentLogger(options.logger, 'policy'),
  });
  const endpoints = new EndpointIndex(options.view);
  const clients = new UpstreamClients({ connector: options.connector });
  const telemetry = new WaypointTelemetry({
    registry: options.registry,
    ...(options.accessLog === false ? {} : { accessLog: componentLogger(options.logger, 'access') }),
    ...(options.clusterId === undefined ? {} : { clusterId: options.clusterId }),
  });
  const tcpOpened = counter(
    options.registry,
    'istio_tcp_connections_opened_total',
    'TCP connections opened',
    ['reporter', 'destination_service'],
  );
  const tcpClosed = counter(
    options.registry,
    'istio_tcp_connections_closed_total',
    'TCP connections closed',
    ['reporter', 'destination_service'],
  );
  const tcpSent = counter(
    options.registry,
    'istio_tcp_sent_bytes_total',
    'Bytes sent to the client on TCP connections',
    ['reporter', 'destination_service'],
  );
  const tcpReceived = counter(
    options.registry,
    'istio_tcp_received_bytes_total',
    'Bytes received from the client on TCP connections',
    ['reporter', 'destination_service'],
  );
  const engine = new L7Engine({
    policies,
    endpoints,
    clients,
    connector: options.connector,
    telemetry,
    logger,
    limits,
    ...(options.sniffTimeoutMs === undefined ? {} : { sniffTimeoutMs: options.sniffTimeoutMs }),
    onTcpClosed: (conn, r) => {
      const labels = {
        reporter: 'waypoint',
        destination_service: conn.dest.service?.hostname ?? conn.dest.ip,
      };
      tcpClosed.inc(labels);
      tcpSent.inc(labels, r.sent);
      tcpReceived.inc(labels, r.received);
    },
  });

  const connInfo = (info: StreamInfo): ConnInfo => ({
    peerIdentity: info.peerIdentity,
    sourceIp: info.sourceIp,
    sourceWorkload: options.view.workloadByIp(info.sourceIp),
    dest: resolveDestination(options.view, info.destinationIp, info.destinationPort),
  });

  const serve = (stream: Duplex, info: StreamInfo): void => {
    const conn = connInfo(info);
    if (engine.isDeclaredTcp(conn)) {
      tcpOpened.inc({
        reporter: 'waypoint',
        destination_service: conn.dest.service?.hostname ?? conn.dest.ip,
      });
    }
    engine.handle(stream, conn);
  };

  const connectHandler: ConnectHandler = async (request: ConnectRequest): Promise<ConnectDecision> => {
    const conn = connInfo({
      peerIdentity: request.peerIdentity,
      sourceIp: request.connection.remoteAddress,
      destinationIp: request.host,
      destinationPort: request.port,
    });
    if (conn.dest.service === undefined && conn.dest.workload === undefined) {
      return {
        status: 503,
        reason: `WEFT_WAYPOINT_NO_ENDPOINT: ${request.authority} is neither a service nor a workload this waypoint knows`,
      };
    }
    if (engine.isDeclaredTcp(conn)) {
      // Declared TCP: decide before answering the CONNECT, as ztunnel does (401 = denied).
      const decision = authorizeTcp(policies, conn);
      if (!decision.allowed) return { status: 401, reason: `${RBAC_DENIED} (${decision.reason})` };
      try {
        const { stream } = await connectAny(
          options.connector,
          endpoints.endpoints(conn.dest),
          limits.maxAttempts,
        );
        const labels = {
          reporter: 'waypoint',
          destination_service: conn.dest.service?.hostname ?? conn.dest.ip,
        };
        tcpOpened.inc(labels);
        return {
          upstream: stream,
          onClose: (r) => {
            tcpClosed.inc(labels);
            tcpReceived.inc(labels, r.bytesAtoB);
            tcpSent.inc(labels, r.bytesBtoA);
          },
        };
      } catch (err) {
        return { status: 503, reason: `WEFT_WAYPOINT_UPSTREAM: ${errorMessage(err)}` };
      }
    }
    const [outer, inner] = duplexPair();
    inner.remoteAddress = request.connection.remoteAddress;
    inner.remotePort = request.connection.remotePort;
    inner.localAddress = request.host;
    inner.localPort = request.port;
    engine.handle(inner, conn);
    return { upstream: outer };
  };

  return {
    connectHandler,
    serve,
    policies,
    jwks,
    configDump: () => ({
      waypoint: options.waypoint,
      policies: policies.dump(),
      jwks: jwks.dump(),
      upstreams: clients.stats(),
      limits,
    }),
    close: () => {
      engine.close();
      clients.close();
      endpoints.close();
      policies.close();
    },
  };
}
