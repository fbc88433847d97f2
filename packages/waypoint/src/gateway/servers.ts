/**
 * Which Gateway servers this gateway implements, from the raw config objects: Istio Gateways whose
 * `selector` matches the gateway pods' labels, and Gateway API Gateways of class `istio` with this
 * gateway's name. Pure: config objects in, listeners (servers grouped by port) and problems out.
 */
import type { ConfigObject } from '@weft/config';
import { GATEWAY_API_GROUP, groupOf, ISTIO_NETWORKING_GROUP } from '@weft/config';

export type ServerTlsMode = 'SIMPLE' | 'MUTUAL' | 'OPTIONAL_MUTUAL' | 'PASSTHROUGH';
export type ServerProtocol = 'HTTP' | 'HTTPS' | 'HTTP2' | 'GRPC' | 'TLS' | 'TCP';

export interface ServerTls {
  readonly mode: ServerTlsMode;
  /** Secret (or credentials directory entry) with tls.crt, tls.key and optionally ca.crt. */
  readonly credentialName: string | undefined;
  /** 'TLSv1.2' | 'TLSv1.3' (Node's names). */
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3' | undefined;
  readonly maxVersion: 'TLSv1.2' | 'TLSv1.3' | undefined;
  readonly cipherSuites: readonly string[];
  /** MUTUAL: the client certificate must carry one of these SANs (any when empty). */
  readonly subjectAltNames: readonly string[];
}

export interface GatewayServer {
  /** `namespace/name` of the Gateway object. */
  readonly gateway: string;
  /** Istio Gateway (routes bind by `gateways:`) or Gateway API (routes bind by parentRefs). */
  readonly api: 'istio' | 'gateway-api';
  readonly port: number;
  readonly protocol: ServerProtocol;
  /** Host patterns (namespace prefixes removed), lower case; `*` = any. */
  readonly hosts: readonly string[];
  readonly tls: ServerTls | undefined;
}

export interface GatewayIdentity {
  readonly name: string;
  readonly namespace: string;
  /** The gateway pods' labels (Istio Gateway selectors match them). */
  readonly labels: Readonly<Record<string, string>>;
}

export interface ServerPlan {
  /** Servers by port, in a stable order (Gateway key, then declaration order). */
  readonly ports: ReadonlyMap<number, readonly GatewayServer[]>;
  readonly problems: readonly string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const PROTOCOLS = new Set<ServerProtocol>(['HTTP', 'HTTPS', 'HTTP2', 'GRPC', 'TLS', 'TCP']);
const TLS_MODES = new Set<ServerTlsMode>(['SIMPLE', 'MUTUAL', 'OPTIONAL_MUTUAL', 'PASSTHROUGH']);

function tlsVersion(v: unknown): 'TLSv1.2' | 'TLSv1.3' | undefined {
  switch (v) {
    case 'TLSV1_2':
      return 'TLSv1.2';
    case 'TLSV1_3':
      return 'TLSv1.3';
    default:
      return undefined;
  }
}

function stripNamespace(host: string): string {
  const slash = host.indexOf('/');
  return (slash === -1 ? host : host.slice(slash + 1)).toLowerCase();
}

export function selectorMatches(
  selector: Readonly<Record<string, unknown>>,
  labels: Readonly<Record<string, string>>,
): boolean {
  const keys = Object.keys(selector);
  if (keys.length === 0) return false;
  return keys.every((k) => labels[k] === selector[k]);
}

function istioServers(c: ConfigObject, me: GatewayIdentity, problems: string[]): GatewayServer[] {
  const spec = isObj(c.object.spec) ? c.object.spec : {};
  const selector = isObj(spec.selector) ? spec.selector : {};
  if (!selectorMatches(selector, me.labels)) return [];
  const out: GatewayServer[] = [];
  const key = `${c.namespace}/${c.name}`;
  for (const [i, s] of arr(spec.servers).entries()) {
    if (!isObj(s) || !isObj(s.port)) continue;
    const port = Number(s.port.number);
    const protocol = String(s.port.protocol ?? '').toUpperCase() as ServerProtocol;
    if (!Number.isInteger(port) || port <= 0 || port > 65535 || !PROTOCOLS.has(protocol)) {
      problems.push(`Gateway ${key} servers[${i}]: unsupported port or protocol; skipped`);
      continue;
    }
    let tls: ServerTls | undefined;
    if (isObj(s.tls) && !s.tls.httpsRedirect) {
      const mode = String(s.tls.mode ?? 'SIMPLE').toUpperCase() as ServerTlsMode;
      if (!TLS_MODES.has(mode)) {
        problems.push(`Gateway ${key} servers[${i}]: tls.mode ${mode} is not supported; skipped`);
        continue;
      }
      const credentialName = str(s.tls.credentialName);
      if (mode !== 'PASSTHROUGH' && credentialName === undefined) {
        problems.push(`Gateway ${key} servers[${i}]: tls.mode ${mode} needs credentialName; skipped`);
        continue;
      }
      tls = {
        mode,
        credentialName,
        minVersion: tlsVersion(s.tls.minProtocolVersion),
        maxVersion: tlsVersion(s.tls.maxProtocolVersion),
        cipherSuites: arr(s.tls.cipherSuites).filter((x): x is string => typeof x === 'string'),
        subjectAltNames: arr(s.tls.subjectAltNames).filter((x): x is string => typeof x === 'string'),
      };
    } else if (protocol === 'HTTPS' || protocol === 'TLS') {
      problems.push(`Gateway ${key} servers[${i}]: ${protocol} without tls settings; skipped`);
      continue;
    }
    const hosts = arr(s.hosts)
      .filter((h): h is string => typeof h === 'string')
      .map(stripNamespace);
    out.push({ gateway: key, api: 'istio', port, protocol, hosts: hosts.length > 0 ? hosts : ['*'], tls });
  }
  return out;
}

function gatewayApiServers(c: ConfigObject, me: GatewayIdentity, problems: string[]): GatewayServer[] {
  const spec = isObj(c.object.spec) ? c.object.spec : {};
  if (spec.gatewayClassName !== 'istio' || c.name !== me.name || c.namespace !== me.namespace) return [];
  const key = `${c.namespace}/${c.name}`;
  const out: GatewayServer[] = [];
  for (const [i, l] of arr(spec.listeners).entries()) {
    if (!isObj(l)) continue;
    const port = Number(l.port);
    const protocol = String(l.protocol ?? '').toUpperCase() as ServerProtocol;
    if (!Number.isInteger(port) || port <= 0 || port > 65535 || !PROTOCOLS.has(protocol)) {
      problems.push(`Gateway ${key} listeners[${i}]: unsupported port or protocol; skipped`);
      continue;
    }
    let tls: ServerTls | undefined;
    if (isObj(l.tls)) {
      const passthrough = l.tls.mode === 'Passthrough';
      const ref = arr(l.tls.certificateRefs).find(isObj);
      const caRef = isObj(l.tls.frontendValidation)
        ? arr(l.tls.frontendValidation.caCertificateRefs).find(isObj)
        : undefined;
      const credentialName = ref === undefined ? undefined : str(ref.name);
      if (!passthrough && credentialName === undefined) {
        problems.push(`Gateway ${key} listeners[${i}]: Terminate needs certificateRefs; skipped`);
        continue;
      }
      tls = {
        mode: passthrough ? 'PASSTHROUGH' : caRef !== undefined ? 'MUTUAL' : 'SIMPLE',
        credentialName,
        minVersion: undefined,
        maxVersion: undefined,
        cipherSuites: [],
        subjectAltNames: [],
      };
    }
    const hostname = str(l.hostname);
    out.push({
      gateway: key,
      api: 'gateway-api',
      port,
      protocol,
      hosts: [hostname === undefined ? '*' : hostname.toLowerCase()],
      tls,
    });
  }
  return out;
}

/** The servers this gateway implements, grouped by port. */
export function planServers(configs: Iterable<ConfigObject>, me: GatewayIdentity): ServerPlan {
  const problems: string[] = [];
  const all: GatewayServer[] = [];
  const sorted = [...configs]
    .filter((c) => c.kind === 'Gateway')
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  for (const c of sorted) {
    const group = groupOf(c.apiVersion);
    if (group === ISTIO_NETWORKING_GROUP) all.push(...istioServers(c, me, problems));
    else if (group === GATEWAY_API_GROUP) all.push(...gatewayApiServers(c, me, problems));
  }
  const ports = new Map<number, GatewayServer[]>();
  for (const s of all) {
    const list = ports.get(s.port) ?? [];
    const first = list[0];
    if (first !== undefined && (first.tls === undefined) !== (s.tls === undefined)) {
      problems.push(
        `Gateway ${s.gateway}: port ${s.port} mixes TLS and plaintext servers; the later one is skipped`,
      );
      continue;
    }
    list.push(s);
    ports.set(s.port, list);
  }
  return { ports, problems };
}

/** Host pattern match: exact, `*.suffix` (one or more labels) or `*`. Both lower case. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}

/** How specific a pattern is (exact beats longer wildcard beats shorter wildcard beats `*`). */
export function hostSpecificity(pattern: string): number {
  if (pattern === '*') return 0;
  if (pattern.startsWith('*.')) return pattern.length;
  return 100_000 + pattern.length;
}

/** The server on a port for a TLS server name (most specific host wins); SNI-less clients get `*`/first. */
export function serverForSni(
  servers: readonly GatewayServer[],
  sni: string | undefined,
): GatewayServer | undefined {
  let best: GatewayServer | undefined;
  let bestScore = -1;
  for (const s of servers) {
    for (const h of s.hosts) {
      const ok = sni === undefined ? h === '*' : hostMatches(h, sni);
      if (ok && hostSpecificity(h) > bestScore) {
        best = s;
        bestScore = hostSpecificity(h);
      }
    }
  }
  if (best === undefined && sni === undefined) return servers[0];
  return best;
}
