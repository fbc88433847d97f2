/**
 * Istio's request metrics as a waypoint reports them (reporter="waypoint") and one access-log line per
 * request. Metric children are cached per label combination so a request costs a map lookup, not a
 * label hash (see request-metrics.ts).
 */
import type { Workload } from '@weft/config';
import {
  ISTIO_DURATION_BUCKETS_MS,
  type IstioTrafficLabels,
  istioLabels,
  type Logger,
  type Registry,
} from '@weft/telemetry';
import type { Destination } from './mesh-view.js';
import { RequestMetricSet } from './request-metrics.js';

/** Per downstream connection: who is calling and where to. */
export interface ConnInfo {
  /** SPIFFE ID of the client workload from HBONE ('' without mTLS). */
  readonly peerIdentity: string;
  readonly sourceIp: string;
  readonly sourceWorkload: Workload | undefined;
  readonly dest: Destination;
}

export interface RequestRecord {
  readonly conn: ConnInfo;
  readonly protocol: 'http' | 'grpc';
  readonly httpVersion: '1.1' | '2';
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly status: number;
  /** grpc-status, when gRPC. */
  readonly grpcStatus: string | undefined;
  /** Envoy response flags: '-', UH (no healthy upstream), UF (connect failure), UT (timeout), UC, DC. */
  readonly flags: string;
  readonly durationMs: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
  readonly upstream: string | undefined;
  readonly upstreamWorkload: Workload | undefined;
  /** Why the waypoint answered itself (policy decision, JWT failure). */
  readonly reason: string | undefined;
  readonly userAgent: string | undefined;
  readonly requestId: string | undefined;
}

const BYTE_BUCKETS = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];
type Labels = IstioTrafficLabels & { response_code: string; grpc_response_status: string };

export interface WaypointTelemetryOptions {
  registry: Registry;
  /** The access log; undefined disables it. */
  accessLog?: Logger;
  clusterId?: string;
  /** The waypoint's own SPIFFE ID (destination side of the client's mTLS). */
  identity?: string;
}

function workloadLabels(
  prefix: 'source' | 'destination',
  w: Workload | undefined,
): Record<string, string | undefined> {
  if (w === undefined) return {};
  return {
    [`${prefix}_workload`]: w.workloadName,
    [`${prefix}_canonical_service`]: w.canonicalName,
    [`${prefix}_canonical_revision`]: w.canonicalRevision,
    [`${prefix}_workload_namespace`]: w.namespace,
    [`${prefix}_app`]: w.canonicalName,
    [`${prefix}_version`]: w.canonicalRevision,
    [`${prefix}_cluster`]: w.clusterId,
    [`${prefix}_principal`]: `spiffe://${w.trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`,
  };
}

/** One metric set per registry (several engines in one process share it). */
const sets = new WeakMap<Registry, RequestMetricSet>();

function requestMetrics(registry: Registry): RequestMetricSet {
  let set = sets.get(registry);
  if (set === undefined) {
    set = new RequestMetricSet(
      registry,
      { name: 'istio_requests_total', help: 'Requests handled by the waypoint' },
      [
        {
          name: 'istio_request_duration_milliseconds',
          help: 'Request duration in milliseconds',
          buckets: ISTIO_DURATION_BUCKETS_MS,
        },
        {
          name: 'istio_request_bytes',
          help: 'Request sizes in bytes (headers and body)',
          buckets: BYTE_BUCKETS,
        },
        {
          name: 'istio_response_bytes',
          help: 'Response sizes in bytes (headers and body)',
          buckets: BYTE_BUCKETS,
        },
      ],
    );
    sets.set(registry, set);
  }
  return set;
}

export class WaypointTelemetry {
  readonly #metrics: RequestMetricSet;
  readonly #log: Logger | undefined;
  readonly #clusterId: string | undefined;
  readonly #obs = [0, 0, 0];

  constructor(options: WaypointTelemetryOptions) {
    this.#metrics = requestMetrics(options.registry);
    this.#log = options.accessLog;
    this.#clusterId = options.clusterId;
  }

  #labels(rec: RequestRecord): Labels {
    const c = rec.conn;
    const svc = c.dest.service;
    return {
      ...istioLabels({
        reporter: 'waypoint',
        ...workloadLabels('source', c.sourceWorkload),
        source_principal: c.peerIdentity,
        destination_service: svc?.hostname ?? c.dest.ip,
        destination_service_namespace: svc?.namespace ?? rec.upstreamWorkload?.namespace,
        destination_service_name: svc?.name ?? rec.upstreamWorkload?.name,
        ...workloadLabels('destination', rec.upstreamWorkload),
        ...(rec.upstreamWorkload === undefined ? { destination_cluster: this.#clusterId } : {}),
        request_protocol: rec.protocol,
        response_flags: rec.flags,
        connection_security_policy: c.peerIdentity === '' ? 'none' : 'mutual_tls',
      }),
      response_code: String(rec.status),
      grpc_response_status: rec.grpcStatus ?? '',
    };
  }

  /** One finished request: metrics and the access-log line. */
  record(rec: RequestRecord): void {
    const c = rec.conn;
    const key = `${c.peerIdentity}|${c.sourceWorkload?.uid ?? ''}|${c.dest.service?.hostname ?? c.dest.ip}|${rec.upstreamWorkload?.uid ?? ''}|${rec.status}|${rec.grpcStatus ?? ''}|${rec.protocol}|${rec.flags}`;
    const obs = this.#obs;
    obs[0] = rec.durationMs;
    obs[1] = rec.requestBytes;
    obs[2] = rec.responseBytes;
    this.#metrics.record(key, () => this.#labels(rec), obs);
    if (this.#log !== undefined) {
      this.#log.info(
        {
          src: rec.conn.peerIdentity || rec.conn.sourceIp,
          src_ip: rec.conn.sourceIp,
          dst: rec.conn.dest.service?.hostname ?? rec.conn.dest.ip,
          dst_port: rec.conn.dest.port,
          upstream: rec.upstream ?? '-',
          protocol: `HTTP/${rec.httpVersion}`,
          method: rec.method,
          path: rec.path,
          authority: rec.authority,
          status: rec.status,
          ...(rec.grpcStatus === undefined ? {} : { grpc_status: rec.grpcStatus }),
          flags: rec.flags,
          duration_ms: Math.round(rec.durationMs * 1000) / 1000,
          bytes_received: rec.requestBytes,
          bytes_sent: rec.responseBytes,
          ...(rec.reason === undefined ? {} : { reason: rec.reason }),
          ...(rec.userAgent === undefined ? {} : { user_agent: rec.userAgent }),
          ...(rec.requestId === undefined ? {} : { request_id: rec.requestId }),
        },
        'request',
      );
    }
  }
}
