/** Waypoint resolution: which waypoint a pod, Service or namespace label selects, and its address. */
import type { ConfigIndex, GatewayInfo } from './config-index.js';
import type { ServiceInfo } from './kube.js';
import { LABEL } from './labels.js';
import type { GatewayAddress } from './model.js';

const HBONE_PORT = 15008;

export interface Waypoints {
  /** `namespace/name` → the waypoint Gateway. */
  readonly byKey: ReadonlyMap<string, GatewayInfo>;
}

/** The waypoint a pod/service/namespace label asks for, and whether it serves that kind of traffic. */
export function resolveWaypoint(
  labels: Readonly<Record<string, string>>,
  nsLabels: Readonly<Record<string, string>>,
  namespace: string,
  forWhat: 'service' | 'workload',
  waypoints: Waypoints,
  index: ConfigIndex,
  domain: string,
  network: string,
): GatewayAddress | undefined {
  let name = labels[LABEL.useWaypoint];
  let ns = labels[LABEL.useWaypointNamespace];
  if (name === undefined) {
    name = nsLabels[LABEL.useWaypoint];
    ns = nsLabels[LABEL.useWaypointNamespace];
  }
  if (name === undefined || name === '' || name === 'none') return undefined;
  const gwNs = ns === undefined || ns === '' ? namespace : ns;
  const gw = waypoints.byKey.get(`${gwNs}/${name}`);
  if (gw === undefined) return undefined;
  if (gw.waypointFor !== 'all' && gw.waypointFor !== forWhat) return undefined;
  return waypointAddress(gw, index, domain, network);
}

/** The waypoint's Service VIP when there is one (what ztunnel dials), its hostname otherwise. */
export function waypointAddress(
  gw: GatewayInfo,
  index: ConfigIndex,
  domain: string,
  network: string,
): GatewayAddress {
  const svc = index.services.get(`${gw.namespace}/${gw.name}`);
  const ip = svc?.clusterIPs[0] ?? gw.addresses[0];
  if (ip !== undefined) return { address: { network, ip }, hboneMtlsPort: HBONE_PORT };
  return {
    hostname: { namespace: gw.namespace, hostname: `${gw.name}.${gw.namespace}.svc.${domain}` },
    hboneMtlsPort: HBONE_PORT,
  };
}

/** A waypoint's own Service never points at itself. */
export function isWaypointService(svc: ServiceInfo, waypoints: Waypoints): boolean {
  return waypoints.byKey.has(`${svc.namespace}/${svc.name}`);
}
