/**
 * Outbound routing (ztunnel's outbound.rs order), pure over the discovery view: refuse loop ports;
 * a Service VIP with a waypoint → HBONE to the waypoint with :authority VIP:port; a Service → a healthy
 * endpoint at random (weighted by capacity when known); a workload with a waypoint → the waypoint;
 * an HBONE workload → podIP:15008 with :authority podIP:targetPort; anything else → plain passthrough.
 */
import type { GatewayAddress, Service, Workload } from '@weft/config';
import { type DiscoveryView, serviceKeyOf, spiffeIdOf } from './discovery.js';

export const HBONE_PORT = 15008;
export const ILLEGAL_PORTS: ReadonlySet<number> = new Set([15001, 15006, 15008]);

export type Route =
  | {
      kind: 'refuse';
      code: 'WEFT_NODE_ILLEGAL_PORT' | 'WEFT_NODE_NO_HEALTHY_ENDPOINT';
      reason: string;
      service?: Service;
    }
  | {
      kind: 'passthrough';
      host: string;
      port: number;
      workload?: Workload;
      service?: Service;
    }
  | {
      kind: 'hbone';
      nextHop: { host: string; port: number };
      authority: string;
      expectedIdentities: string[];
      /** The final destination workload (the waypoint's own when going through one and the target is a VIP). */
      workload: Workload | undefined;
      service?: Service;
      /** Set when the hop is a waypoint. */
      waypoint?: Workload;
    };

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function targetPortOf(w: Workload, svc: Service, servicePort: number): number {
  const mappings = w.services[serviceKeyOf(svc)] ?? svc.ports;
  for (const m of mappings)
    if (m.servicePort === servicePort) return m.targetPort === 0 ? servicePort : m.targetPort;
  for (const m of svc.ports)
    if (m.servicePort === servicePort) return m.targetPort === 0 ? servicePort : m.targetPort;
  return servicePort;
}

/** Healthy endpoints of a service (workloads that list it). */
export function endpointsOf(view: DiscoveryView, svc: Service): Workload[] {
  const key = serviceKeyOf(svc);
  const out: Workload[] = [];
  for (const w of view.workloads.values()) {
    if (w.status === 'HEALTHY' && w.addresses.length > 0 && w.services[key] !== undefined) out.push(w);
  }
  return out;
}

function pick<T>(items: readonly T[], random: () => number, weight: (t: T) => number): T | undefined {
  if (items.length <= 1) return items[0];
  let total = 0;
  for (const i of items) total += Math.max(1, weight(i));
  let r = random() * total;
  for (const i of items) {
    r -= Math.max(1, weight(i));
    if (r < 0) return i;
  }
  return items[items.length - 1];
}

function capacity(w: Workload): number {
  const c = (w as { capacity?: number }).capacity;
  return typeof c === 'number' && c > 0 ? c : 1;
}

/** The waypoint workload behind a GatewayAddress (a pod IP, a Service VIP or a service hostname → an endpoint). */
function resolveWaypoint(
  view: DiscoveryView,
  gw: GatewayAddress,
  random: () => number,
): Workload | undefined {
  if (gw.address !== undefined) {
    // Pilot names a waypoint by its Service VIP (as istiod does); a pod IP names one instance.
    const direct = view.workloadByIp(gw.address.ip);
    if (direct !== undefined) return direct;
    const svc = view.serviceByIp(gw.address.ip);
    return svc === undefined ? undefined : pick(endpointsOf(view, svc), random, capacity);
  }
  if (gw.hostname !== undefined) {
    const svc = view.services.get(`${gw.hostname.namespace}/${gw.hostname.hostname}`);
    if (svc === undefined) return undefined;
    return pick(endpointsOf(view, svc), random, capacity);
  }
  return undefined;
}

function viaWaypoint(
  view: DiscoveryView,
  gw: GatewayAddress,
  authority: string,
  random: () => number,
  target: { workload?: Workload; service?: Service },
): Route | undefined {
  const wp = resolveWaypoint(view, gw, random);
  const ip = wp?.addresses[0];
  if (wp === undefined || ip === undefined) return undefined;
  return {
    kind: 'hbone',
    nextHop: { host: ip, port: gw.hboneMtlsPort || HBONE_PORT },
    authority,
    expectedIdentities: [spiffeIdOf(wp)],
    workload: target.workload,
    ...(target.service === undefined ? {} : { service: target.service }),
    waypoint: wp,
  };
}

function toWorkload(w: Workload, port: number, service: Service | undefined): Route {
  const ip = w.addresses[0] as string;
  if (w.tunnelProtocol === 'HBONE') {
    return {
      kind: 'hbone',
      nextHop: { host: ip, port: HBONE_PORT },
      authority: hostPort(ip, port),
      expectedIdentities: [spiffeIdOf(w), ...(service?.subjectAltNames ?? [])],
      workload: w,
      ...(service === undefined ? {} : { service }),
    };
  }
  return { kind: 'passthrough', host: ip, port, workload: w, ...(service === undefined ? {} : { service }) };
}

/**
 * Where a captured outbound connection to dstIp:dstPort goes. `source` is the pod's own workload (a
 * waypoint never sends its own traffic back to itself).
 */
export function routeOutbound(
  view: DiscoveryView,
  dstIp: string,
  dstPort: number,
  random: () => number = Math.random,
  source?: Workload,
): Route {
  if (ILLEGAL_PORTS.has(dstPort)) {
    return {
      kind: 'refuse',
      code: 'WEFT_NODE_ILLEGAL_PORT',
      reason: `port ${dstPort} is one of the mesh's own ports`,
    };
  }
  const svc = view.serviceByIp(dstIp);
  if (svc !== undefined) {
    if (svc.waypoint !== undefined) {
      const r = viaWaypoint(view, svc.waypoint, hostPort(dstIp, dstPort), random, { service: svc });
      if (r !== undefined && (r.kind !== 'hbone' || r.waypoint?.uid !== source?.uid)) return r;
    }
    const ep = pick(endpointsOf(view, svc), random, capacity);
    if (ep === undefined) {
      return {
        kind: 'refuse',
        code: 'WEFT_NODE_NO_HEALTHY_ENDPOINT',
        reason: `service ${svc.hostname} has no healthy endpoint`,
        service: svc,
      };
    }
    const port = targetPortOf(ep, svc, dstPort);
    if (ep.waypoint !== undefined && ep.uid !== source?.uid) {
      const r = viaWaypoint(view, ep.waypoint, hostPort(ep.addresses[0] as string, port), random, {
        workload: ep,
        service: svc,
      });
      if (r !== undefined && (r.kind !== 'hbone' || r.waypoint?.uid !== source?.uid)) return r;
    }
    return toWorkload(ep, port, svc);
  }
  const w = view.workloadByIp(dstIp);
  if (w !== undefined) {
    if (w.waypoint !== undefined) {
      const r = viaWaypoint(view, w.waypoint, hostPort(dstIp, dstPort), random, { workload: w });
      if (r !== undefined && (r.kind !== 'hbone' || r.waypoint?.uid !== source?.uid)) return r;
    }
    return toWorkload(w, dstPort, undefined);
  }
  return { kind: 'passthrough', host: dstIp, port: dstPort };
}
