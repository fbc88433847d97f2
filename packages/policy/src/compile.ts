/**
 * An AuthorizationPolicy compiled into matchers: string sets and prefix/suffix lists, numeric CIDRs,
 * port sets, path templates as RegExps. `null` means "field not set".
 */
import { type CidrRange, parseCidr } from './ip.js';
import { PathMatcher } from './path-match.js';
import { StringMatcher } from './string-match.js';
import { applyTrustDomainAliases, type TrustDomainOptions } from './trust-domain.js';
import type {
  AuthorizationAction,
  AuthorizationPolicy,
  AuthzCondition,
  AuthzOperation,
  AuthzSource,
} from './types.js';
import { parsePort } from './validate-common.js';
import { L4_WHEN_KEYS, parseWhenKey, type WhenAttribute } from './when-keys.js';

export interface CompiledSource {
  readonly principals: StringMatcher | null;
  readonly notPrincipals: StringMatcher | null;
  readonly requestPrincipals: StringMatcher | null;
  readonly notRequestPrincipals: StringMatcher | null;
  readonly namespaces: StringMatcher | null;
  readonly notNamespaces: StringMatcher | null;
  readonly ipBlocks: readonly CidrRange[] | null;
  readonly notIpBlocks: readonly CidrRange[] | null;
  readonly remoteIpBlocks: readonly CidrRange[] | null;
  readonly notRemoteIpBlocks: readonly CidrRange[] | null;
  /** `ns/sa` keys. */
  readonly serviceAccounts: ReadonlySet<string> | null;
  readonly notServiceAccounts: ReadonlySet<string> | null;
}

export interface CompiledOperation {
  readonly hosts: StringMatcher | null;
  readonly notHosts: StringMatcher | null;
  readonly ports: ReadonlySet<number> | null;
  readonly notPorts: ReadonlySet<number> | null;
  readonly methods: StringMatcher | null;
  readonly notMethods: StringMatcher | null;
  readonly paths: PathMatcher | null;
  readonly notPaths: PathMatcher | null;
}

export type ValueMatcher =
  | { readonly type: 'string'; readonly m: StringMatcher }
  | { readonly type: 'cidr'; readonly m: readonly CidrRange[] }
  | { readonly type: 'port'; readonly m: ReadonlySet<number> }
  /** `ns/sa` keys (source.serviceAccount). */
  | { readonly type: 'accounts'; readonly m: ReadonlySet<string> };

export interface CompiledCondition {
  readonly attr: WhenAttribute;
  readonly values: ValueMatcher | null;
  readonly notValues: ValueMatcher | null;
  /** Needs an HTTP request (headers, JWT); false for keys plain TCP has (ips, ports, SNI). */
  readonly http: boolean;
}

export interface CompiledRule {
  readonly from: readonly CompiledSource[];
  readonly to: readonly CompiledOperation[];
  readonly when: readonly CompiledCondition[];
  /** The rule uses an attribute only an HTTP request has (method, path, host, headers, JWT). */
  readonly hasHttp: boolean;
}

export interface CompiledAuthorizationPolicy {
  readonly policy: AuthorizationPolicy;
  /** `namespace/name`. */
  readonly key: string;
  readonly action: AuthorizationAction;
  readonly dryRun: boolean;
  readonly rules: readonly CompiledRule[];
}

function str(values: readonly string[], lower = false): StringMatcher | null {
  return values.length === 0 ? null : StringMatcher.fromValues(values, lower);
}

function cidrs(values: readonly string[]): CidrRange[] | null {
  if (values.length === 0) return null;
  const out: CidrRange[] = [];
  for (const v of values) {
    const r = parseCidr(v);
    if (r !== null) out.push(r);
  }
  return out;
}

function ports(values: readonly string[]): Set<number> | null {
  if (values.length === 0) return null;
  const out = new Set<number>();
  for (const v of values) {
    const n = parsePort(v);
    if (n !== null) out.add(n);
  }
  return out;
}

function accounts(values: readonly string[], namespace: string): Set<string> | null {
  if (values.length === 0) return null;
  return new Set(values.map((v) => (v.includes('/') ? v : `${namespace}/${v}`)));
}

function compileSource(s: AuthzSource, namespace: string): CompiledSource {
  return {
    principals: str(s.principals),
    notPrincipals: str(s.notPrincipals),
    requestPrincipals: str(s.requestPrincipals),
    notRequestPrincipals: str(s.notRequestPrincipals),
    namespaces: str(s.namespaces),
    notNamespaces: str(s.notNamespaces),
    ipBlocks: cidrs(s.ipBlocks),
    notIpBlocks: cidrs(s.notIpBlocks),
    remoteIpBlocks: cidrs(s.remoteIpBlocks),
    notRemoteIpBlocks: cidrs(s.notRemoteIpBlocks),
    serviceAccounts: accounts(s.serviceAccounts, namespace),
    notServiceAccounts: accounts(s.notServiceAccounts, namespace),
  };
}

function compileOperation(o: AuthzOperation): CompiledOperation {
  return {
    hosts: str(o.hosts, true),
    notHosts: str(o.notHosts, true),
    ports: ports(o.ports),
    notPorts: ports(o.notPorts),
    methods: str(o.methods),
    notMethods: str(o.notMethods),
    paths: o.paths.length === 0 ? null : new PathMatcher(o.paths),
    notPaths: o.notPaths.length === 0 ? null : new PathMatcher(o.notPaths),
  };
}

function valueMatcher(
  attr: WhenAttribute,
  values: readonly string[],
  namespace: string,
): ValueMatcher | null {
  if (values.length === 0) return null;
  switch (attr.kind) {
    case 'source.serviceAccount':
      return { type: 'accounts', m: accounts(values, namespace) ?? new Set() };
    case 'source.ip':
    case 'remote.ip':
    case 'destination.ip':
      return { type: 'cidr', m: cidrs(values) ?? [] };
    case 'destination.port':
      return { type: 'port', m: ports(values) ?? new Set() };
    default:
      return { type: 'string', m: StringMatcher.fromValues(values) };
  }
}

function compileCondition(c: AuthzCondition, namespace: string): CompiledCondition {
  const attr = parseWhenKey(c.key) ?? { kind: 'experimental' };
  return {
    attr,
    values: valueMatcher(attr, c.values, namespace),
    notValues: valueMatcher(attr, c.notValues, namespace),
    http: !TCP_WHEN_KEYS.has(c.key),
  };
}

/**
 * Keys a waypoint/gateway can evaluate on plain TCP (Envoy's network RBAC): the node agent's L4 keys
 * plus the original client address and the TLS SNI. Headers and JWT claims need HTTP.
 */
const TCP_WHEN_KEYS: ReadonlySet<string> = new Set([
  ...L4_WHEN_KEYS,
  'remote.ip',
  'connection.sni',
  'source.serviceAccount',
]);

/** Needs an HTTP request at a waypoint/gateway (request principals come from a JWT). */
function sourceNeedsRequest(s: AuthzSource): boolean {
  return s.requestPrincipals.length + s.notRequestPrincipals.length > 0;
}

/** Not enforceable by the node agent (istiod drops these for ztunnel). */
export function sourceHasHttp(s: AuthzSource): boolean {
  return (
    s.requestPrincipals.length +
      s.notRequestPrincipals.length +
      s.remoteIpBlocks.length +
      s.notRemoteIpBlocks.length >
    0
  );
}

export function operationHasHttp(o: AuthzOperation): boolean {
  return (
    o.hosts.length +
      o.notHosts.length +
      o.methods.length +
      o.notMethods.length +
      o.paths.length +
      o.notPaths.length >
    0
  );
}

/** Compiles a validated policy. Compile once per policy version; matching never re-parses. */
export function compileAuthorizationPolicy(
  original: AuthorizationPolicy,
  options?: TrustDomainOptions,
): CompiledAuthorizationPolicy {
  const policy = applyTrustDomainAliases(original, options);
  const rules = policy.rules.map((r) => {
    const when = r.when.map((c) => compileCondition(c, policy.namespace));
    return {
      from: r.from.map((s) => compileSource(s, policy.namespace)),
      to: r.to.map(compileOperation),
      when,
      hasHttp: r.from.some(sourceNeedsRequest) || r.to.some(operationHasHttp) || when.some((c) => c.http),
    };
  });
  return {
    policy: original,
    key: `${policy.namespace}/${policy.name}`,
    action: policy.action,
    dryRun: policy.dryRun,
    rules,
  };
}
