/**
 * Where a route destination host lives: a mesh Service (its endpoints; HBONE when the pods are in the
 * mesh), a ServiceEntry (its endpoints, or the host itself resolved by DNS), or nowhere known. Pure
 * apart from reading the view.
 */
import type { ConfigObject, Service } from '@weft/config';
import { groupOf, ISTIO_NETWORKING_GROUP } from '@weft/config';
import type { Destination, Endpoint, EndpointIndex, MeshView } from '../mesh-view.js';
import { hostMatches } from './servers.js';

export interface Upstream {
  /** The FQDN of the destination. */
  readonly host: string;
  readonly port: number;
  readonly endpoints: readonly Endpoint[];
  /** A mesh Service (true) or an external/ServiceEntry host (false). */
  readonly mesh: boolean;
  /** The engine's view of it (TCP passthrough connects to this destination's endpoints). */
  readonly dest: Destination;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** `name` → `name.<ns>.svc.cluster.local`; names with a dot are already qualified. */
export function qualify(host: string, namespace: string): string {
  return host.includes('.') || host === '*' ? host : `${host}.${namespace}.svc.cluster.local`;
}

function serviceByHost(view: MeshView, host: string): Service | undefined {
  for (const s of view.services.values()) if (s.hostname === host) return s;
  return undefined;
}

interface EntryPort {
  number: number;
  name: string;
  targetPort: number | undefined;
}

function entryPorts(spec: Obj): EntryPort[] {
  return arr(spec.ports)
    .filter(isObj)
    .map((p) => ({
      number: Number(p.number),
      name: String(p.name ?? ''),
      targetPort: typeof p.targetPort === 'number' ? p.targetPort : undefined,
    }))
    .filter((p) => Number.isInteger(p.number) && p.number > 0);
}

/** The ServiceEntry declaring `host` (most specific host pattern wins). */
export function serviceEntryFor(configs: Iterable<ConfigObject>, host: string): ConfigObject | undefined {
  let best: ConfigObject | undefined;
  let bestLen = -1;
  for (const c of configs) {
    if (c.kind !== 'ServiceEntry' || groupOf(c.apiVersion) !== ISTIO_NETWORKING_GROUP) continue;
    const spec = isObj(c.object.spec) ? c.object.spec : {};
    for (const h of arr(spec.hosts)) {
      if (typeof h !== 'string') continue;
      const pattern = h.toLowerCase();
      const len = pattern.startsWith('*') ? pattern.length : 10_000 + pattern.length;
      if (hostMatches(pattern, host) && len > bestLen) {
        best = c;
        bestLen = len;
      }
    }
  }
  return best;
}

/** Endpoints of a ServiceEntry for a port (its `endpoints`, else the host itself, resolved by DNS). */
export function serviceEntryEndpoints(
  entry: ConfigObject,
  host: string,
  port: number | undefined,
): Upstream | undefined {
  const spec = isObj(entry.object.spec) ? entry.object.spec : {};
  const ports = entryPorts(spec);
  const p = port === undefined ? ports[0] : ports.find((x) => x.number === port);
  const number = p?.number ?? port;
  if (number === undefined) return undefined;
  const list = arr(spec.endpoints).filter(isObj);
  const endpoints: Endpoint[] = [];
  if (list.length > 0) {
    for (const e of list) {
      if (typeof e.address !== 'string') continue;
      const named = p !== undefined && isObj(e.ports) ? e.ports[p.name] : undefined;
      const target = typeof named === 'number' ? named : (p?.targetPort ?? number);
      endpoints.push({ workload: undefined, ip: e.address, port: target });
    }
  } else if (!host.includes('*')) {
    endpoints.push({ workload: undefined, ip: host, port: p?.targetPort ?? number });
  }
  const first = endpoints[0];
  return {
    host,
    port: number,
    endpoints,
    mesh: false,
    dest: { ip: first?.ip ?? host, port: first?.port ?? number, appProtocol: undefined },
  };
}

/** Resolves a route destination (host as written, optional port) in the namespace of its route. */
export function resolveUpstream(
  view: MeshView,
  index: EndpointIndex,
  rawHost: string,
  port: number | undefined,
  namespace: string,
): Upstream | undefined {
  const host = qualify(rawHost.toLowerCase(), namespace);
  const svc = serviceByHost(view, host) ?? serviceByHost(view, rawHost.toLowerCase());
  if (svc !== undefined) {
    const only = svc.ports.length === 1 ? svc.ports[0] : undefined;
    const servicePort = port ?? only?.servicePort;
    if (servicePort === undefined)
      return {
        host,
        port: 0,
        endpoints: [],
        mesh: true,
        dest: { service: svc, ip: '', port: 0, appProtocol: undefined },
      };
    const mapping = svc.ports.find((p) => p.servicePort === servicePort);
    const dest: Destination = {
      service: svc,
      ip: svc.addresses[0]?.ip ?? '',
      port: servicePort,
      appProtocol: mapping?.appProtocol,
    };
    return { host: svc.hostname, port: servicePort, endpoints: index.endpoints(dest), mesh: true, dest };
  }
  const entry = serviceEntryFor(view.configs.values(), host);
  if (entry !== undefined) return serviceEntryEndpoints(entry, host, port);
  const raw = rawHost.toLowerCase();
  const rawEntry = raw === host ? undefined : serviceEntryFor(view.configs.values(), raw);
  return rawEntry === undefined ? undefined : serviceEntryEndpoints(rawEntry, raw, port);
}
