import type { Authorization, Service, Workload } from '@weft/config';

/**
 * What the data path reads from discovery. @weft/xds's XdsStore satisfies it as is; tests fill a
 * store directly. Reads only: the main thread applies xDS updates.
 */
export interface DiscoveryView {
  readonly workloads: ReadonlyMap<string, Workload>;
  readonly services: ReadonlyMap<string, Service>;
  readonly authorizations: ReadonlyMap<string, Authorization>;
  workloadByIp(ip: string): Workload | undefined;
  serviceByIp(ip: string): Service | undefined;
  onChange(
    listener: (change: { typeUrl: string; updated: readonly string[]; removed: readonly string[] }) => void,
  ): () => void;
}

export function serviceKeyOf(s: Pick<Service, 'namespace' | 'hostname'>): string {
  return `${s.namespace}/${s.hostname}`;
}

export function spiffeIdOf(w: Pick<Workload, 'trustDomain' | 'namespace' | 'serviceAccount'>): string {
  return `spiffe://${w.trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`;
}
