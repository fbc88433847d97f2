/**
 * The node agent's decision over the L4 model, in ztunnel's order: dry-run matches are reported,
 * any DENY match denies, no ALLOW policy allows, an ALLOW match allows, otherwise deny.
 */
import { parseIdentity } from './attributes.js';
import { anyCidrContains, type CidrRange, cidrFromBytes, type IpAddr, parseIp } from './ip.js';
import type {
  L4Address,
  L4Authorization,
  L4Match,
  L4ServiceAccountMatch,
  L4StringMatch,
} from './l4-model.js';
import { StringMatcher, type StringPattern } from './string-match.js';

export interface L4Connection {
  /** Peer identity from the HBONE mTLS certificate (`spiffe://…` or principal form); absent for plaintext. */
  readonly sourceIdentity?: string | undefined;
  readonly sourceIp: string;
  readonly destinationIp: string;
  readonly destinationPort: number;
}

interface CompiledL4Match {
  readonly namespaces: StringMatcher | null;
  readonly notNamespaces: StringMatcher | null;
  readonly principals: StringMatcher | null;
  readonly notPrincipals: StringMatcher | null;
  readonly sourceIps: readonly CidrRange[] | null;
  readonly notSourceIps: readonly CidrRange[] | null;
  readonly destinationIps: readonly CidrRange[] | null;
  readonly notDestinationIps: readonly CidrRange[] | null;
  readonly destinationPorts: ReadonlySet<number> | null;
  readonly notDestinationPorts: ReadonlySet<number> | null;
  readonly serviceAccounts: ReadonlySet<string> | null;
  readonly notServiceAccounts: ReadonlySet<string> | null;
}

export interface CompiledL4Authorization {
  readonly authorization: L4Authorization;
  /** `namespace/name`. */
  readonly key: string;
  readonly rules: readonly (readonly (readonly CompiledL4Match[])[])[];
}

export type L4DecisionKind =
  | 'no-policies'
  | 'no-allow-policies'
  | 'allow-matched'
  | 'deny-matched'
  | 'no-allow-matched';

export interface L4PolicyMatch {
  readonly policy: string;
  readonly action: L4Authorization['action'];
  readonly ruleIndex: number;
}

export interface L4Decision {
  readonly allowed: boolean;
  readonly kind: L4DecisionKind;
  /** `explicitly denied by: ns/name` / `allow policies exist, but none matched` — for the access log. */
  readonly reason: string;
  readonly policy?: L4PolicyMatch;
  readonly dryRunMatches: readonly L4PolicyMatch[];
}

function strs(ms: readonly L4StringMatch[]): StringMatcher | null {
  if (ms.length === 0) return null;
  return new StringMatcher(ms.map((m): StringPattern => ('presence' in m ? { presence: true } : m)));
}
function ips(as: readonly L4Address[]): CidrRange[] | null {
  if (as.length === 0) return null;
  const out: CidrRange[] = [];
  for (const a of as) {
    const r = cidrFromBytes(a.address, a.length);
    if (r !== null) out.push(r);
  }
  return out;
}
function portSet(ps: readonly number[]): Set<number> | null {
  return ps.length === 0 ? null : new Set(ps);
}
function saSet(sas: readonly L4ServiceAccountMatch[] | undefined): Set<string> | null {
  return sas === undefined || sas.length === 0
    ? null
    : new Set(sas.map((s) => `${s.namespace}/${s.serviceAccount}`));
}

function compileMatch(m: L4Match): CompiledL4Match {
  return {
    namespaces: strs(m.namespaces),
    notNamespaces: strs(m.notNamespaces),
    principals: strs(m.principals),
    notPrincipals: strs(m.notPrincipals),
    sourceIps: ips(m.sourceIps),
    notSourceIps: ips(m.notSourceIps),
    destinationIps: ips(m.destinationIps),
    notDestinationIps: ips(m.notDestinationIps),
    destinationPorts: portSet(m.destinationPorts),
    notDestinationPorts: portSet(m.notDestinationPorts),
    serviceAccounts: saSet(m.serviceAccounts),
    notServiceAccounts: saSet(m.notServiceAccounts),
  };
}

const compiledCache = new WeakMap<L4Authorization, CompiledL4Authorization>();

/** Compiles (and caches per object) one L4 Authorization. */
export function compileL4(a: L4Authorization): CompiledL4Authorization {
  let c = compiledCache.get(a);
  if (c === undefined) {
    c = {
      authorization: a,
      key: `${a.namespace}/${a.name}`,
      rules: a.rules.map((r) => r.clauses.map((cl) => cl.matches.map(compileMatch))),
    };
    compiledCache.set(a, c);
  }
  return c;
}

/** The connection as matchers see it; the peer's namespace/service account are split out only if a policy asks. */
class Conn {
  private ns: string | undefined | null = null;
  private sa: string | undefined | null = null;
  constructor(
    readonly principal: string | undefined,
    readonly src: IpAddr | null,
    readonly dst: IpAddr | null,
    readonly port: number,
  ) {}

  private split(): void {
    const id = this.principal === undefined ? undefined : parseIdentity(this.principal);
    this.ns = id === undefined || id.namespace === '' ? undefined : id.namespace;
    this.sa =
      id === undefined || id.serviceAccount === '' ? undefined : `${id.namespace}/${id.serviceAccount}`;
  }

  get namespace(): string | undefined {
    if (this.ns === null) this.split();
    return this.ns as string | undefined;
  }

  get serviceAccount(): string | undefined {
    if (this.sa === null) this.split();
    return this.sa as string | undefined;
  }
}

function matchOne(m: CompiledL4Match, c: Conn): boolean {
  // cheapest checks first: ports, then addresses, then identity
  if (m.destinationPorts !== null && !m.destinationPorts.has(c.port)) return false;
  if (m.notDestinationPorts?.has(c.port)) return false;
  if (m.sourceIps !== null && !anyCidrContains(m.sourceIps, c.src)) return false;
  if (m.notSourceIps !== null && anyCidrContains(m.notSourceIps, c.src)) return false;
  if (m.destinationIps !== null && !anyCidrContains(m.destinationIps, c.dst)) return false;
  if (m.notDestinationIps !== null && anyCidrContains(m.notDestinationIps, c.dst)) return false;
  if (m.principals !== null && !m.principals.matches(c.principal)) return false;
  if (m.notPrincipals?.matches(c.principal)) return false;
  if (m.namespaces !== null && !m.namespaces.matches(c.namespace)) return false;
  if (m.notNamespaces?.matches(c.namespace)) return false;
  if (m.serviceAccounts !== null) {
    const sa = c.serviceAccount;
    if (sa === undefined || !m.serviceAccounts.has(sa)) return false;
  }
  if (m.notServiceAccounts !== null) {
    const sa = c.serviceAccount;
    if (sa !== undefined && m.notServiceAccounts.has(sa)) return false;
  }
  return true;
}

function firstRule(p: CompiledL4Authorization, c: Conn): number {
  const rules = p.rules;
  rule: for (let r = 0; r < rules.length; r++) {
    const clauses = rules[r]!;
    for (let i = 0; i < clauses.length; i++) {
      const matches = clauses[i]!;
      let any = false;
      for (let j = 0; j < matches.length && !any; j++) any = matchOne(matches[j]!, c);
      if (!any) continue rule;
    }
    return r;
  }
  return -1;
}

const NONE: readonly L4PolicyMatch[] = Object.freeze([]);

function toConn(conn: L4Connection): Conn {
  const id = conn.sourceIdentity;
  const principal = id === undefined ? undefined : id.startsWith('spiffe://') ? id.slice(9) : id;
  return new Conn(principal, parseIp(conn.sourceIp), parseIp(conn.destinationIp), conn.destinationPort);
}

function toCompiled(x: CompiledL4Authorization | L4Authorization): CompiledL4Authorization {
  return 'authorization' in x ? (x as CompiledL4Authorization) : compileL4(x as L4Authorization);
}

/** Decides one connection against the policies that apply to the destination workload. */
export function evaluateL4(
  policies: readonly (CompiledL4Authorization | L4Authorization)[],
  conn: L4Connection,
): L4Decision {
  let compiled = true;
  for (let i = 0; i < policies.length && compiled; i++) compiled = 'authorization' in policies[i]!;
  return evaluateCompiledL4(
    compiled ? (policies as readonly CompiledL4Authorization[]) : policies.map(toCompiled),
    conn,
  );
}

/** evaluateL4 over already-compiled policies (what L4PolicyStore hands out). */
export function evaluateCompiledL4(
  policies: readonly CompiledL4Authorization[],
  conn: L4Connection,
): L4Decision {
  const c = toConn(conn);
  let dry: L4PolicyMatch[] | null = null;
  let allows = 0;
  let denies = 0;
  for (let i = 0; i < policies.length; i++) {
    const p = policies[i]!;
    const a = p.authorization;
    if (a.dryRun) {
      const r = firstRule(p, c);
      if (r >= 0) {
        dry ??= [];
        dry.push({ policy: p.key, action: a.action, ruleIndex: r });
      }
    } else if (a.action === 'DENY') {
      denies++;
      const r = firstRule(p, c);
      if (r >= 0) {
        const policy = { policy: p.key, action: a.action, ruleIndex: r };
        return {
          allowed: false,
          kind: 'deny-matched',
          reason: `explicitly denied by: ${p.key}`,
          policy,
          dryRunMatches: dry ?? NONE,
        };
      }
    } else allows++;
  }
  if (allows === 0) {
    return denies === 0
      ? { allowed: true, kind: 'no-policies', reason: 'no policies', dryRunMatches: dry ?? NONE }
      : { allowed: true, kind: 'no-allow-policies', reason: 'no allow policies', dryRunMatches: dry ?? NONE };
  }
  for (let i = 0; i < policies.length; i++) {
    const p = policies[i]!;
    const a = p.authorization;
    if (a.dryRun || a.action !== 'ALLOW') continue;
    const r = firstRule(p, c);
    if (r >= 0) {
      const policy = { policy: p.key, action: a.action, ruleIndex: r };
      return {
        allowed: true,
        kind: 'allow-matched',
        reason: `allowed by: ${p.key}`,
        policy,
        dryRunMatches: dry ?? NONE,
      };
    }
  }
  return {
    allowed: false,
    kind: 'no-allow-matched',
    reason: 'allow policies exist, but none matched',
    dryRunMatches: dry ?? NONE,
  };
}

/** Per-policy trace for explanations: each policy (compiled or not) with its first matching rule, or -1. */
export function traceL4(
  policies: readonly (CompiledL4Authorization | L4Authorization)[],
  conn: L4Connection,
): {
  readonly policy: string;
  readonly action: L4Authorization['action'];
  readonly dryRun: boolean;
  readonly matchedRule: number;
}[] {
  const c = toConn(conn);
  return policies.map((x) => {
    const p = toCompiled(x);
    return {
      policy: p.key,
      action: p.authorization.action,
      dryRun: p.authorization.dryRun,
      matchedRule: firstRule(p, c),
    };
  });
}
