/**
 * Istio's TCP metrics and ztunnel's access log, updated once per connection (open, close), never per
 * chunk: a connection carries its label set, built once when its peers are known.
 */
import type { Service, Workload } from '@weft/config';
import {
  type Counter,
  counter,
  type IstioTrafficLabels,
  istioLabels,
  type Logger,
  type Registry,
} from '@weft/telemetry';
import { spiffeIdOf } from './discovery.js';

type L = keyof IstioTrafficLabels;

export interface TrafficMetrics {
  opened: Counter<L>;
  closed: Counter<L>;
  failed: Counter<L>;
  sent: Counter<L>;
  received: Counter<L>;
}

export function trafficMetrics(registry: Registry): TrafficMetrics {
  const labels = Object.keys(istioLabels({})) as L[];
  return {
    opened: counter(registry, 'istio_tcp_connections_opened_total', 'TCP connections opened', labels),
    closed: counter(registry, 'istio_tcp_connections_closed_total', 'TCP connections closed', labels),
    failed: counter(registry, 'istio_tcp_connections_failed_total', 'TCP connections that failed', labels),
    sent: counter(
      registry,
      'istio_tcp_sent_bytes_total',
      'Bytes sent to the destination during TCP connections',
      labels,
    ),
    received: counter(
      registry,
      'istio_tcp_received_bytes_total',
      'Bytes received from the destination during TCP connections',
      labels,
    ),
  };
}

export type Direction = 'inbound' | 'outbound';

export interface ConnectionInfo {
  direction: Direction;
  srcAddr: string;
  srcWorkload: Workload | undefined;
  /** Verified SPIFFE ID (inbound HBONE) or the local pod's (outbound). */
  srcIdentity: string | undefined;
  dstAddr: string;
  dstHboneAddr: string | undefined;
  dstWorkload: Workload | undefined;
  dstService: Service | undefined;
  dstIdentity: string | undefined;
  mtls: boolean;
}

function principal(id: string | undefined): string | undefined {
  return id?.startsWith('spiffe://') ? id.slice('spiffe://'.length) : id;
}

function workloadLabels(prefix: 'source' | 'destination', w: Workload | undefined, id: string | undefined) {
  return {
    [`${prefix}_workload`]: w?.workloadName || w?.name,
    [`${prefix}_canonical_service`]: w?.canonicalName,
    [`${prefix}_canonical_revision`]: w?.canonicalRevision,
    [`${prefix}_workload_namespace`]: w?.namespace,
    [`${prefix}_principal`]: principal(id ?? (w === undefined ? undefined : spiffeIdOf(w))),
    [`${prefix}_app`]: w?.canonicalName,
    [`${prefix}_version`]: w?.canonicalRevision,
    [`${prefix}_cluster`]: w?.clusterId,
  } as Partial<Record<L, string | undefined>>;
}

export function labelsOf(info: ConnectionInfo, responseFlags = '-'): IstioTrafficLabels {
  return istioLabels({
    reporter: info.direction === 'inbound' ? 'destination' : 'source',
    ...workloadLabels('source', info.srcWorkload, info.srcIdentity),
    ...workloadLabels('destination', info.dstWorkload, info.dstIdentity),
    destination_service: info.dstService?.hostname,
    destination_service_namespace: info.dstService?.namespace,
    destination_service_name: info.dstService?.name,
    request_protocol: 'tcp',
    response_flags: responseFlags,
    connection_security_policy: info.mtls ? 'mutual_tls' : 'unknown',
  });
}

export interface Outcome {
  /** Bytes towards the destination (bytes_sent in the access log) and back from it (bytes_recv). */
  bytesSent: number;
  bytesRecv: number;
  durationMs: number;
  /** Undefined on success; the access log's error text otherwise. */
  error: string | undefined;
  /** DENY, CONNECT, TLS_FAILURE…; "-" on success. */
  responseFlags: string;
}

export interface OpenConnection {
  direction: Direction;
  src: string;
  srcIdentity: string | undefined;
  dst: string;
  dstHbone: string | undefined;
  dstService: string | undefined;
  dstWorkload: string | undefined;
  dstIdentity: string | undefined;
  mtls: boolean;
  ageMs: number;
}

/** A small number per discovery object (workloads and services are replaced, never mutated, on change). */
const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
function idOf(o: object | undefined): number {
  if (o === undefined) return 0;
  let id = objectIds.get(o);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(o, id);
  }
  return id;
}

/** Connections between the same peers share one label set; bounded, cleared when full. */
const LABEL_CACHE_LIMIT = 4096;

/** Per-connection accounting: opened at start, closed/failed and bytes once at the end. */
export class TrafficRecorder {
  readonly #m: TrafficMetrics;
  readonly #access: Logger;
  /** Open connections → when they opened (one entry per connection, removed at close). */
  readonly #open = new Map<ConnectionInfo, number>();

  constructor(metrics: TrafficMetrics, accessLog: Logger) {
    this.#m = metrics;
    this.#access = accessLog;
  }

  readonly #labels = new Map<string, IstioTrafficLabels>();

  /** The label set of a successful connection, shared by every connection between the same peers. */
  #labelsOf(info: ConnectionInfo): IstioTrafficLabels {
    const key = `${info.direction}|${idOf(info.srcWorkload)}|${info.srcIdentity ?? '\0'}|${idOf(info.dstWorkload)}|${info.dstIdentity ?? '\0'}|${idOf(info.dstService)}|${info.mtls ? 1 : 0}`;
    let labels = this.#labels.get(key);
    if (labels === undefined) {
      if (this.#labels.size >= LABEL_CACHE_LIMIT) this.#labels.clear();
      labels = labelsOf(info);
      this.#labels.set(key, labels);
    }
    return labels;
  }

  opened(info: ConnectionInfo): IstioTrafficLabels {
    const labels = this.#labelsOf(info);
    this.#m.opened.inc(labels);
    this.#open.set(info, Date.now());
    return labels;
  }

  /** Open connections for the admin API (/debug/connections): who talks to whom, since when. */
  openConnections(): OpenConnection[] {
    const now = Date.now();
    return [...this.#open].map(([i, since]) => ({
      direction: i.direction,
      src: i.srcAddr,
      srcIdentity: i.srcIdentity,
      dst: i.dstAddr,
      dstHbone: i.dstHboneAddr,
      dstService: i.dstService?.hostname,
      dstWorkload:
        i.dstWorkload === undefined ? undefined : `${i.dstWorkload.namespace}/${i.dstWorkload.name}`,
      dstIdentity: i.dstIdentity,
      mtls: i.mtls,
      ageMs: now - since,
    }));
  }

  /** Records the end of a connection that was counted as opened (labels from `opened`). */
  closed(info: ConnectionInfo, labels: IstioTrafficLabels, outcome: Outcome): void {
    this.#open.delete(info);
    this.#m.closed.inc(labels);
    // Istio's meaning: received = request bytes (source → destination), sent = response bytes.
    if (outcome.bytesSent > 0) this.#m.received.inc(labels, outcome.bytesSent);
    if (outcome.bytesRecv > 0) this.#m.sent.inc(labels, outcome.bytesRecv);
    if (outcome.error !== undefined) this.#m.failed.inc(labelsOf(info, outcome.responseFlags));
    this.#log(info, outcome);
  }

  /** A connection refused before it was opened (denied, no route, upstream down). */
  failed(info: ConnectionInfo, outcome: Outcome): void {
    this.#m.failed.inc(labelsOf(info, outcome.responseFlags));
    this.#log(info, outcome);
  }

  #log(info: ConnectionInfo, outcome: Outcome): void {
    const line = {
      'src.addr': info.srcAddr,
      'src.workload': info.srcWorkload?.name,
      'src.namespace': info.srcWorkload?.namespace,
      'src.identity': info.srcIdentity,
      'dst.addr': info.dstAddr,
      'dst.hbone_addr': info.dstHboneAddr,
      'dst.service': info.dstService?.hostname,
      'dst.workload': info.dstWorkload?.name,
      'dst.namespace': info.dstWorkload?.namespace,
      'dst.identity': info.dstIdentity,
      direction: info.direction,
      bytes_sent: outcome.bytesSent,
      bytes_recv: outcome.bytesRecv,
      duration: `${Math.round(outcome.durationMs)}ms`,
      ...(outcome.error === undefined ? {} : { error: outcome.error }),
    };
    if (outcome.error === undefined) this.#access.info(line, 'connection complete');
    else this.#access.error(line, 'connection complete');
  }
}
