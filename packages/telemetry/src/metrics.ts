import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Istio's labels on TCP and request metrics (ztunnel / Envoy names), in Istio's order. */
export const ISTIO_TRAFFIC_LABELS = [
  'reporter',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'destination_service',
  'destination_service_namespace',
  'destination_service_name',
  'destination_workload',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_cluster',
  'request_protocol',
  'response_flags',
  'connection_security_policy',
] as const;

export type IstioTrafficLabel = (typeof ISTIO_TRAFFIC_LABELS)[number];
export type IstioTrafficLabels = Record<IstioTrafficLabel, string>;

/** Istio reports a missing label value as "unknown". */
export function istioLabels(
  partial: Partial<Record<IstioTrafficLabel, string | undefined>>,
): IstioTrafficLabels {
  const out = {} as IstioTrafficLabels;
  for (const name of ISTIO_TRAFFIC_LABELS) {
    const value = partial[name];
    out[name] = value === undefined || value === '' ? 'unknown' : value;
  }
  return out;
}

export interface MetricsOptions {
  /** Process-level metrics (CPU, memory, event loop lag, open fds). On by default. */
  processMetrics?: boolean;
  /** Static labels on every series, e.g. { component: 'weft-node' }. */
  defaultLabels?: Record<string, string>;
}

/** One registry per process; components register their metrics on it. */
export function createRegistry(options: MetricsOptions = {}): Registry {
  const registry = new Registry();
  if (options.defaultLabels !== undefined) registry.setDefaultLabels(options.defaultLabels);
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  return registry;
}

/** Get-or-create, so two components asking for the same metric share it instead of throwing. */
export function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) return existing as Counter<L>;
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}

export function gauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) return existing as Gauge<L>;
  return new Gauge<L>({ name, help, labelNames, registers: [registry] });
}

export function histogram<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  buckets: number[],
): Histogram<L> {
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) return existing as Histogram<L>;
  return new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] });
}

/** Istio's request-duration buckets (milliseconds). */
export const ISTIO_DURATION_BUCKETS_MS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];
