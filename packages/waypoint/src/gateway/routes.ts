/**
 * Request routing at a gateway: VirtualServices bound to this gateway's Istio Gateways (hosts, http[]
 * with uri exact/prefix/regex, authority, method and header matches, weighted route destinations, tls[]
 * sniHosts for PASSTHROUGH) and basic Gateway API HTTPRoutes (hostnames, path Exact/PathPrefix,
 * backendRefs). Pure: config objects in, a table out; lookups are pure functions of the table.
 */
import type { ConfigObject } from '@weft/config';
import { GATEWAY_API_GROUP, groupOf, ISTIO_NETWORKING_GROUP } from '@weft/config';
import { hostMatches, hostSpecificity } from './servers.js';

export interface RouteDestination {
  /** As written (short names are resolved against `namespace`). */
  readonly host: string;
  readonly port: number | undefined;
  /** Namespace of the route object. */
  readonly namespace: string;
  readonly weight: number;
}

type StringMatch =
  | { readonly exact: string }
  | { readonly prefix: string }
  | { readonly regex: RegExp }
  | undefined;

export interface HttpMatch {
  readonly uri: StringMatch;
  readonly authority: StringMatch;
  readonly method: StringMatch;
  readonly headers: readonly { readonly name: string; readonly match: StringMatch }[];
  readonly port: number | undefined;
}

export interface HttpRule {
  /** Empty = match every request. */
  readonly matches: readonly HttpMatch[];
  readonly destinations: readonly RouteDestination[];
}

export interface VirtualHost {
  /** `namespace/name` of the route object. */
  readonly source: string;
  readonly hosts: readonly string[];
  readonly rules: readonly HttpRule[];
}

export interface TlsRoute {
  readonly source: string;
  readonly port: number | undefined;
  readonly sniHosts: readonly string[];
  readonly destinations: readonly RouteDestination[];
}

export interface RouteTable {
  readonly http: readonly VirtualHost[];
  readonly tls: readonly TlsRoute[];
  readonly problems: readonly string[];
}

export interface RouteBinding {
  /** `namespace/name` of the Istio Gateways this gateway implements. */
  readonly istioGateways: ReadonlySet<string>;
  /** `namespace/name` of the Gateway API Gateways this gateway implements. */
  readonly apiGateways: ReadonlySet<string>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const strings = (v: unknown): string[] => arr(v).filter((x): x is string => typeof x === 'string');

function stringMatch(v: unknown): StringMatch {
  if (!isObj(v)) return undefined;
  if (typeof v.exact === 'string') return { exact: v.exact };
  if (typeof v.prefix === 'string') return { prefix: v.prefix };
  if (typeof v.regex === 'string') return { regex: new RegExp(`^(?:${v.regex})$`) };
  return undefined;
}

function matchString(m: StringMatch, value: string | undefined): boolean {
  if (m === undefined) return true;
  if (value === undefined) return false;
  if ('exact' in m) return value === m.exact;
  if ('prefix' in m) return value.startsWith(m.prefix);
  return m.regex.test(value);
}

function destinations(route: unknown, namespace: string): RouteDestination[] {
  const out: RouteDestination[] = [];
  for (const r of arr(route)) {
    if (!isObj(r) || !isObj(r.destination) || typeof r.destination.host !== 'string') continue;
    const port = isObj(r.destination.port) ? Number(r.destination.port.number) : undefined;
    out.push({
      host: r.destination.host.toLowerCase(),
      port: port !== undefined && Number.isInteger(port) ? port : undefined,
      namespace,
      weight: typeof r.weight === 'number' ? r.weight : 100,
    });
  }
  return out;
}

function boundGateways(spec: Obj, namespace: string): string[] {
  return strings(spec.gateways).map((g) => (g.includes('/') ? g : `${namespace}/${g}`));
}

function virtualService(c: ConfigObject, bind: RouteBinding, table: Mutable): void {
  const spec = isObj(c.object.spec) ? c.object.spec : {};
  const source = `${c.namespace}/${c.name}`;
  if (!boundGateways(spec, c.namespace).some((g) => bind.istioGateways.has(g))) return;
  const hosts = strings(spec.hosts).map((h) => h.toLowerCase());
  const rules: HttpRule[] = [];
  for (const [i, h] of arr(spec.http).entries()) {
    if (!isObj(h)) continue;
    try {
      const matches: HttpMatch[] = arr(h.match)
        .filter(isObj)
        .map((m) => ({
          uri: stringMatch(m.uri),
          authority: stringMatch(m.authority),
          method: stringMatch(m.method),
          headers: isObj(m.headers)
            ? Object.entries(m.headers).map(([name, v]) => ({
                name: name.toLowerCase(),
                match: stringMatch(v),
              }))
            : [],
          port: typeof m.port === 'number' ? m.port : undefined,
        }));
      const dests = destinations(h.route, c.namespace);
      if (dests.length === 0) {
        table.problems.push(`VirtualService ${source} http[${i}]: no route destination; skipped`);
        continue;
      }
      rules.push({ matches, destinations: dests });
    } catch (err) {
      table.problems.push(`VirtualService ${source} http[${i}]: ${(err as Error).message}; skipped`);
    }
  }
  if (rules.length > 0) table.http.push({ source, hosts, rules });
  for (const t of arr(spec.tls)) {
    if (!isObj(t)) continue;
    for (const m of arr(t.match).filter(isObj)) {
      const sniHosts = strings(m.sniHosts).map((h) => h.toLowerCase());
      table.tls.push({
        source,
        port: typeof m.port === 'number' ? m.port : undefined,
        sniHosts: sniHosts.length > 0 ? sniHosts : hosts,
        destinations: destinations(t.route, c.namespace),
      });
    }
  }
}

function httpRoute(c: ConfigObject, bind: RouteBinding, table: Mutable): void {
  const spec = isObj(c.object.spec) ? c.object.spec : {};
  const parents = arr(spec.parentRefs)
    .filter(isObj)
    .map((p) => `${typeof p.namespace === 'string' ? p.namespace : c.namespace}/${String(p.name)}`);
  if (!parents.some((p) => bind.apiGateways.has(p))) return;
  const hosts = strings(spec.hostnames).map((h) => h.toLowerCase());
  const rules: HttpRule[] = [];
  for (const r of arr(spec.rules).filter(isObj)) {
    const matches: HttpMatch[] = arr(r.matches)
      .filter(isObj)
      .map((m) => {
        const path = isObj(m.path) ? m.path : undefined;
        const value = typeof path?.value === 'string' ? path.value : '/';
        const uri: StringMatch =
          path === undefined
            ? undefined
            : path.type === 'Exact'
              ? { exact: value }
              : path.type === 'RegularExpression'
                ? { regex: new RegExp(`^(?:${value})$`) }
                : { prefix: value };
        return {
          uri,
          authority: undefined,
          method: typeof m.method === 'string' ? { exact: m.method } : undefined,
          headers: [],
          port: undefined,
        };
      });
    const dests: RouteDestination[] = arr(r.backendRefs)
      .filter(isObj)
      .map((b) => ({
        host: `${String(b.name)}.${typeof b.namespace === 'string' ? b.namespace : c.namespace}.svc.cluster.local`,
        port: typeof b.port === 'number' ? b.port : undefined,
        namespace: c.namespace,
        weight: typeof b.weight === 'number' ? b.weight : 1,
      }));
    if (dests.length > 0) rules.push({ matches, destinations: dests });
  }
  if (rules.length > 0)
    table.http.push({ source: `${c.namespace}/${c.name}`, hosts: hosts.length > 0 ? hosts : ['*'], rules });
}

interface Mutable {
  http: VirtualHost[];
  tls: TlsRoute[];
  problems: string[];
}

/** The routes bound to this gateway, in a stable order. */
export function buildRoutes(configs: Iterable<ConfigObject>, bind: RouteBinding): RouteTable {
  const table: Mutable = { http: [], tls: [], problems: [] };
  const sorted = [...configs].sort((a, b) =>
    `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`),
  );
  for (const c of sorted) {
    const group = groupOf(c.apiVersion);
    if (c.kind === 'VirtualService' && group === ISTIO_NETWORKING_GROUP) virtualService(c, bind, table);
    else if (c.kind === 'HTTPRoute' && group === GATEWAY_API_GROUP) httpRoute(c, bind, table);
  }
  return table;
}

/** `host:port` / `[v6]:port` → host, lower case. */
export function hostOfAuthority(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return (end === -1 ? authority : authority.slice(0, end + 1)).toLowerCase();
  }
  const colon = authority.lastIndexOf(':');
  return (colon === -1 ? authority : authority.slice(0, colon)).toLowerCase();
}

export interface HttpRequestFacts {
  readonly port: number;
  readonly authority: string;
  readonly method: string;
  /** Without the query. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

function matches(m: HttpMatch, r: HttpRequestFacts): boolean {
  if (m.port !== undefined && m.port !== r.port) return false;
  if (!matchString(m.uri, r.path)) return false;
  if (!matchString(m.authority, r.authority)) return false;
  if (!matchString(m.method, r.method)) return false;
  for (const h of m.headers) {
    const v = r.headers[h.name];
    if (!matchString(h.match, Array.isArray(v) ? v.join(',') : v)) return false;
  }
  return true;
}

/** The virtual host for a request's host: the most specific matching host pattern wins. */
export function virtualHostFor(table: RouteTable, host: string): VirtualHost | undefined {
  let best: VirtualHost | undefined;
  let score = -1;
  for (const vh of table.http) {
    for (const h of vh.hosts) {
      if (hostMatches(h, host) && hostSpecificity(h) > score) {
        best = vh;
        score = hostSpecificity(h);
      }
    }
  }
  return best;
}

/** The destinations of the first rule that matches the request, or undefined (404 NR). */
export function matchHttpRoute(
  table: RouteTable,
  r: HttpRequestFacts,
): readonly RouteDestination[] | undefined {
  const vh = virtualHostFor(table, hostOfAuthority(r.authority));
  if (vh === undefined) return undefined;
  for (const rule of vh.rules) {
    if (rule.matches.length === 0 || rule.matches.some((m) => matches(m, r))) return rule.destinations;
  }
  return undefined;
}

/** PASSTHROUGH: the destinations for a TLS server name on a port. */
export function matchTlsRoute(
  table: RouteTable,
  port: number,
  sni: string | undefined,
): readonly RouteDestination[] | undefined {
  if (sni === undefined) return undefined;
  for (const t of table.tls) {
    if (t.port !== undefined && t.port !== port) continue;
    if (t.sniHosts.some((h) => hostMatches(h, sni))) return t.destinations;
  }
  return undefined;
}

/** One destination by weight (`random` in [0,1)). */
export function pickWeighted(
  list: readonly RouteDestination[],
  random: () => number = Math.random,
): RouteDestination | undefined {
  if (list.length <= 1) return list[0];
  let total = 0;
  for (const d of list) total += Math.max(0, d.weight);
  if (total === 0) return list[0];
  let x = random() * total;
  for (const d of list) {
    x -= Math.max(0, d.weight);
    if (x < 0) return d;
  }
  return list[list.length - 1];
}
