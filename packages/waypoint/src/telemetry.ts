/**
 * Istio's request metrics as a waypoint reports them (reporter="waypoint") and one access-log line per
 * request. Metric children are cached per label combination so a request costs a map lookup, not a
 * label hash.
 */
import type { Workload } from '@weft/config';
import {
  type Counter,
  counter,
  type Histogram,
  histogram,
  ISTIO_DURATION_BUCKETS_MS,
  type IstioTrafficLabels,
  istioLabels,
  type Logger,
  type Registry,
} from '@weft/telemetry';
import type { Destination } from './mesh-view.js';

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
type LabelName = keyof Labels;

interface Children {
  requests: ReturnType<Counter<LabelName>['labels']>;
  duration: ReturnType<Histogram<LabelName>['labels']>;
  reqBytes: ReturnType<Histogram<LabelName>['labels']>;
  resBytes: ReturnType<Histogram<LabelName>['labels']>;
}

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

export class WaypointTelemetry {
  readonly #requests: Counter<LabelName>;
  readonly #duration: Histogram<LabelName>;
  readonly #reqBytes: Histogram<LabelName>;
  readonly #resBytes: Histogram<LabelName>;
  readonly #children = new Map<string, Children>();
  readonly #log: Logger | undefined;
  readonly #clusterId: string | undefined;

  constructor(options: WaypointTelemetryOptions) {
    const names = [...Object.keys(istioLabels({})), 'response_code', 'grpc_response_status'] as LabelName[];
    const r = options.registry;
    this.#requests = counter(r, 'istio_requests_total', 'Requests handled by the waypoint', names);
    this.#duration = histogram(
      r,
      'istio_request_duration_milliseconds',
      'Request duration in milliseconds',
      names,
      ISTIO_DURATION_BUCKETS_MS,
    );
    this.#reqBytes = histogram(
      r,
      'istio_request_bytes',
      'Request sizes in bytes (headers and body)',
      names,
      BYTE_BUCKETS,
    );
    this.#resBytes = histogram(
      r,
      'istio_response_bytes',
      'Response sizes in bytes (headers and body)',
      names,
      BYTE_BUCKETS,
    );
    this.#log = options.accessLog;
    this.#clusterId = options.clusterId;
  }

  #childrenFor(rec: RequestRecord): Children {
    const c = rec.conn;
    const svc = c.dest.service;
    const key = `${c.peerIdentity}|${c.sourceWorkload?.uid ?? ''}|${svc?.hostname ?? c.dest.ip}|${rec.upstreamWorkload?.uid ?? ''}|${rec.status}|${rec.grpcStatus ?? ''}|${rec.protocol}|${rec.flags}`;
    let ch = this.#children.get(key);
    if (ch !== undefined) return ch;
    const labels: Labels = {
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
    ch = {
      requests: this.#requests.labels(labels),
      duration: this.#duration.labels(labels),
      reqBytes: this.#reqBytes.labels(labels),
      resBytes: this.#resBytes.labels(labels),
    };
    if (this.#children.size > 50_000) this.#children.clear();
    this.#children.set(key, ch);
    return ch;
  }

  /** One finished request: metrics and the access-log line. */
  record(rec: RequestRecord): void {
    const ch = this.#childrenFor(rec);
    ch.requests.inc();
    ch.duration.observe(rec.durationMs);
    ch.reqBytes.observe(rec.requestBytes);
    ch.resBytes.observe(rec.responseBytes);
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
