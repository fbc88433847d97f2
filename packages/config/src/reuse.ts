/**
 * Structural equality for translated objects, so a recompute can hand back the previous object when nothing
 * about it changed: identical objects are not re-encoded or re-sent (the xDS layer caches by identity).
 */
import type { Authorization, GatewayAddress, PortMapping, Service, Workload } from './model.js';

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function samePorts(a: readonly PortMapping[], b: readonly PortMapping[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined) return false;
    if (x.servicePort !== y.servicePort || x.targetPort !== y.targetPort || x.appProtocol !== y.appProtocol)
      return false;
  }
  return true;
}

function sameGateway(a: GatewayAddress | undefined, b: GatewayAddress | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.hboneMtlsPort === b.hboneMtlsPort &&
    a.hostname?.namespace === b.hostname?.namespace &&
    a.hostname?.hostname === b.hostname?.hostname &&
    a.address?.ip === b.address?.ip &&
    a.address?.network === b.address?.network
  );
}

export function sameWorkload(a: Workload, b: Workload): boolean {
  if (
    a.uid !== b.uid ||
    a.name !== b.name ||
    a.namespace !== b.namespace ||
    a.network !== b.network ||
    a.tunnelProtocol !== b.tunnelProtocol ||
    a.trustDomain !== b.trustDomain ||
    a.serviceAccount !== b.serviceAccount ||
    a.node !== b.node ||
    a.canonicalName !== b.canonicalName ||
    a.canonicalRevision !== b.canonicalRevision ||
    a.workloadType !== b.workloadType ||
    a.workloadName !== b.workloadName ||
    a.status !== b.status ||
    a.clusterId !== b.clusterId ||
    a.netns !== b.netns ||
    !sameStrings(a.addresses, b.addresses) ||
    !sameStrings(a.authorizationPolicies, b.authorizationPolicies) ||
    !sameGateway(a.waypoint, b.waypoint)
  )
    return false;
  const ka = Object.keys(a.services);
  const kb = Object.keys(b.services);
  if (!sameStrings(ka, kb)) return false;
  for (const k of ka) if (!samePorts(a.services[k] ?? [], b.services[k] ?? [])) return false;
  return true;
}

export function sameService(a: Service, b: Service): boolean {
  return (
    a.name === b.name &&
    a.namespace === b.namespace &&
    a.hostname === b.hostname &&
    a.ingressUseWaypoint === b.ingressUseWaypoint &&
    a.addresses.length === b.addresses.length &&
    a.addresses.every((x, i) => x.ip === b.addresses[i]?.ip && x.network === b.addresses[i]?.network) &&
    samePorts(a.ports, b.ports) &&
    sameStrings(a.subjectAltNames, b.subjectAltNames) &&
    sameGateway(a.waypoint, b.waypoint)
  );
}

const json = (a: Authorization) =>
  JSON.stringify(a, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v));

export function sameAuthorization(a: Authorization, b: Authorization): boolean {
  return json(a) === json(b);
}

/** `next` with every entry replaced by the previous object when structurally equal. */
export function reuse<T>(
  next: Map<string, T>,
  previous: ReadonlyMap<string, T> | undefined,
  same: (a: T, b: T) => boolean,
): Map<string, T> {
  if (previous === undefined) return next;
  for (const [k, v] of next) {
    const old = previous.get(k);
    if (old !== undefined && old !== v && same(old, v)) next.set(k, old);
  }
  return next;
}
