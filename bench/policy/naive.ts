/**
 * The baseline: a straightforward evaluator that walks every policy on every decision and interprets
 * the resource as written (string patterns, CIDRs and ports parsed at match time). Same semantics
 * as @weft/policy for the attributes the benchmark uses; the run checks both agree.
 */
import type { AuthorizationPolicy, AuthzRule, L4Authorization, L4Match, L4StringMatch } from '@weft/policy';

function ipv4(s: string): number | null {
  const p = s.split('.');
  if (p.length !== 4) return null;
  return p.reduce((acc, x) => acc * 256 + Number(x), 0);
}

function inCidr(cidr: string, ip: string | undefined): boolean {
  if (ip === undefined) return false;
  const [base, len] = cidr.split('/');
  const a = ipv4(base ?? '');
  const b = ipv4(ip);
  if (a === null || b === null) return false;
  const bits = len === undefined ? 32 : Number(len);
  const div = 2 ** (32 - bits);
  return Math.floor(a / div) === Math.floor(b / div);
}

function pattern(p: string, v: string | undefined): boolean {
  if (v === undefined) return false;
  if (p === '*') return v !== '';
  if (p.startsWith('*')) return v.endsWith(p.slice(1));
  if (p.endsWith('*')) return v.startsWith(p.slice(0, -1));
  return p === v;
}

const anyOf = (ps: readonly string[], v: string | undefined) => ps.some((p) => pattern(p, v));

export interface NaiveRequest {
  readonly principal: string | undefined;
  readonly sourceIp: string;
  readonly port: number;
  readonly method: string | undefined;
  readonly path: string | undefined;
}

function nsOf(principal: string | undefined): string | undefined {
  return principal === undefined ? undefined : /\/ns\/([^/]+)\//.exec(principal)?.[1];
}

function ruleMatches(r: AuthzRule, q: NaiveRequest): boolean {
  const ns = nsOf(q.principal);
  const fromOk =
    r.from.length === 0 ||
    r.from.some(
      (s) =>
        (s.principals.length === 0 || anyOf(s.principals, q.principal)) &&
        (s.notPrincipals.length === 0 || !anyOf(s.notPrincipals, q.principal)) &&
        (s.namespaces.length === 0 || anyOf(s.namespaces, ns)) &&
        (s.notNamespaces.length === 0 || !anyOf(s.notNamespaces, ns)) &&
        (s.ipBlocks.length === 0 || s.ipBlocks.some((c) => inCidr(c, q.sourceIp))) &&
        (s.notIpBlocks.length === 0 || !s.notIpBlocks.some((c) => inCidr(c, q.sourceIp))),
    );
  if (!fromOk) return false;
  return (
    r.to.length === 0 ||
    r.to.some(
      (o) =>
        (o.ports.length === 0 || o.ports.includes(String(q.port))) &&
        (o.notPorts.length === 0 || !o.notPorts.includes(String(q.port))) &&
        (o.methods.length === 0 || anyOf(o.methods, q.method)) &&
        (o.paths.length === 0 || anyOf(o.paths, q.path)),
    )
  );
}

/** L7: every AuthorizationPolicy is looked at; scope is checked per policy per decision. */
export function naiveEvaluate(
  all: readonly AuthorizationPolicy[],
  w: { namespace: string; labels: Record<string, string> },
  q: NaiveRequest,
  rootNamespace: string,
): boolean {
  const applies = (p: AuthorizationPolicy) =>
    p.targetRefs.length === 0 &&
    (p.namespace === w.namespace || p.namespace === rootNamespace) &&
    (p.selector === undefined || Object.entries(p.selector.matchLabels).every(([k, v]) => w.labels[k] === v));
  for (const p of all)
    if (p.action === 'DENY' && applies(p) && p.rules.some((r) => ruleMatches(r, q))) return false;
  let allowPolicies = false;
  for (const p of all) {
    if (p.action !== 'ALLOW' || !applies(p)) continue;
    allowPolicies = true;
    if (p.rules.some((r) => ruleMatches(r, q))) return true;
  }
  return !allowPolicies;
}

function sm(ms: readonly L4StringMatch[], v: string | undefined): boolean {
  if (v === undefined) return false;
  return ms.some((m) =>
    'exact' in m
      ? m.exact === v
      : 'prefix' in m
        ? v.startsWith(m.prefix)
        : 'suffix' in m
          ? v.endsWith(m.suffix)
          : v !== '',
  );
}

function l4Ip(as: L4Match['sourceIps'], ip: string): boolean {
  return as.some((a) => inCidr(`${a.address.join('.')}/${a.length}`, ip));
}

function l4MatchOne(m: L4Match, q: NaiveRequest): boolean {
  const ns = nsOf(q.principal);
  return (
    (m.namespaces.length === 0 || sm(m.namespaces, ns)) &&
    (m.notNamespaces.length === 0 || !sm(m.notNamespaces, ns)) &&
    (m.principals.length === 0 || sm(m.principals, q.principal)) &&
    (m.notPrincipals.length === 0 || !sm(m.notPrincipals, q.principal)) &&
    (m.sourceIps.length === 0 || l4Ip(m.sourceIps, q.sourceIp)) &&
    (m.notSourceIps.length === 0 || !l4Ip(m.notSourceIps, q.sourceIp)) &&
    (m.destinationPorts.length === 0 || m.destinationPorts.includes(q.port)) &&
    (m.notDestinationPorts.length === 0 || !m.notDestinationPorts.includes(q.port))
  );
}

const l4Rule = (a: L4Authorization, q: NaiveRequest) =>
  a.rules.some((r) => r.clauses.every((c) => c.matches.some((m) => l4MatchOne(m, q))));

/** L4: every Authorization is looked at; applicability is checked per policy per decision. */
export function naiveEvaluateL4(
  all: readonly L4Authorization[],
  w: { namespace: string; policies: readonly string[] },
  q: NaiveRequest,
): boolean {
  const applies = (a: L4Authorization) =>
    a.scope === 'GLOBAL' ||
    (a.scope === 'NAMESPACE' && a.namespace === w.namespace) ||
    (a.scope === 'WORKLOAD_SELECTOR' && w.policies.includes(`${a.namespace}/${a.name}`));
  for (const a of all) if (!a.dryRun && a.action === 'DENY' && applies(a) && l4Rule(a, q)) return false;
  let allowPolicies = false;
  for (const a of all) {
    if (a.dryRun || a.action !== 'ALLOW' || !applies(a)) continue;
    allowPolicies = true;
    if (l4Rule(a, q)) return true;
  }
  return !allowPolicies;
}
