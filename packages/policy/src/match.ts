/** Matching one request against compiled rules: fields AND, values OR, not* negate. */
import {
  type AuthAttributes,
  type HttpAttributes,
  parseIdentity,
  type RequestAttributes,
} from './attributes.js';
import type {
  CompiledAuthorizationPolicy,
  CompiledCondition,
  CompiledOperation,
  CompiledRule,
  CompiledSource,
  ValueMatcher,
} from './compile.js';
import { anyCidrContains, type CidrRange, type IpAddr, parseIp } from './ip.js';
import type { StringMatcher } from './string-match.js';

const UNSET = Symbol('unset');
type Lazy<T> = T | typeof UNSET;

/**
 * The request as matchers see it, built once per decision. The peer's namespace/service account and
 * the addresses are parsed only when a policy asks for them (most policies look at one or two).
 */
export class MatchContext {
  readonly principal: string | undefined;
  readonly port: number | undefined;
  readonly sni: string | undefined;
  readonly http: boolean;
  readonly host: string | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly headers: HttpAttributes['headers'];
  readonly auth: AuthAttributes | undefined;
  private readonly req: RequestAttributes;
  private ns: Lazy<string | undefined> = UNSET;
  private sa: Lazy<string | undefined> = UNSET;
  private src: Lazy<IpAddr | null> = UNSET;
  private remote: Lazy<IpAddr | null> = UNSET;
  private dst: Lazy<IpAddr | null> = UNSET;

  constructor(req: RequestAttributes) {
    this.req = req;
    const id = req.sourcePrincipal;
    this.principal = id === undefined ? undefined : id.startsWith('spiffe://') ? id.slice(9) : id;
    this.port = req.destinationPort;
    this.sni = req.sni;
    const h = req.http;
    this.http = h !== undefined;
    this.host = h?.host?.toLowerCase();
    this.method = h?.method;
    const rawPath = h?.path;
    const q = rawPath === undefined ? -1 : rawPath.indexOf('?');
    this.path = q === -1 ? rawPath : rawPath!.slice(0, q);
    this.headers = h?.headers;
    this.auth = req.auth;
  }

  private splitIdentity(): void {
    const id = this.principal === undefined ? undefined : parseIdentity(this.principal);
    this.ns = this.req.sourceNamespace ?? (id?.namespace || undefined);
    this.sa =
      id !== undefined && id.serviceAccount !== '' ? `${id.namespace}/${id.serviceAccount}` : undefined;
  }

  get namespace(): string | undefined {
    if (this.ns === UNSET) this.splitIdentity();
    return this.ns as string | undefined;
  }

  /** `ns/sa` of the peer. */
  get serviceAccount(): string | undefined {
    if (this.sa === UNSET) this.splitIdentity();
    return this.sa as string | undefined;
  }

  get sourceIp(): IpAddr | null {
    if (this.src === UNSET) this.src = ipOf(this.req.sourceIp);
    return this.src;
  }

  /** The original client; defaults to the peer address. */
  get remoteIp(): IpAddr | null {
    if (this.remote === UNSET)
      this.remote = this.req.remoteIp === undefined ? this.sourceIp : ipOf(this.req.remoteIp);
    return this.remote;
  }

  get destinationIp(): IpAddr | null {
    if (this.dst === UNSET) this.dst = ipOf(this.req.destinationIp);
    return this.dst;
  }
}

function ipOf(s: string | undefined): IpAddr | null {
  return s === undefined ? null : parseIp(s);
}

export function buildContext(req: RequestAttributes): MatchContext {
  return new MatchContext(req);
}

function pos(m: StringMatcher | null, v: string | undefined): boolean {
  return m === null || m.matches(v);
}
function neg(m: StringMatcher | null, v: string | undefined): boolean {
  return m === null || !m.matches(v);
}
function posIp(r: readonly CidrRange[] | null, ip: IpAddr | null): boolean {
  return r === null || anyCidrContains(r, ip);
}
function negIp(r: readonly CidrRange[] | null, ip: IpAddr | null): boolean {
  return r === null || !anyCidrContains(r, ip);
}
function posSet<T>(s: ReadonlySet<T> | null, v: T | undefined): boolean {
  return s === null || (v !== undefined && s.has(v));
}
function negSet<T>(s: ReadonlySet<T> | null, v: T | undefined): boolean {
  return s === null || v === undefined || !s.has(v);
}
/** Istio matches hosts against the whole :authority, case-insensitively (ports included). */
function hostMatch(m: StringMatcher, c: MatchContext): boolean {
  return m.matches(c.host);
}

/** `skipHttp`: plain TCP under a DENY — HTTP-only fields are ignored (deny on the rest). */
function sourceMatches(s: CompiledSource, c: MatchContext, skipHttp: boolean): boolean {
  if (!pos(s.principals, c.principal) || !neg(s.notPrincipals, c.principal)) return false;
  if (!pos(s.namespaces, c.namespace) || !neg(s.notNamespaces, c.namespace)) return false;
  if (!posIp(s.ipBlocks, c.sourceIp) || !negIp(s.notIpBlocks, c.sourceIp)) return false;
  if (!posSet(s.serviceAccounts, c.serviceAccount) || !negSet(s.notServiceAccounts, c.serviceAccount))
    return false;
  if (!posIp(s.remoteIpBlocks, c.remoteIp) || !negIp(s.notRemoteIpBlocks, c.remoteIp)) return false;
  if (skipHttp) return true;
  const rp = c.auth?.principal;
  return pos(s.requestPrincipals, rp) && neg(s.notRequestPrincipals, rp);
}

function operationMatches(o: CompiledOperation, c: MatchContext, skipHttp: boolean): boolean {
  if (!posSet(o.ports, c.port) || !negSet(o.notPorts, c.port)) return false;
  if (skipHttp) return true;
  if (o.hosts !== null && !hostMatch(o.hosts, c)) return false;
  if (o.notHosts !== null && hostMatch(o.notHosts, c)) return false;
  if (!pos(o.methods, c.method) || !neg(o.notMethods, c.method)) return false;
  if (o.paths !== null && !o.paths.matches(c.path)) return false;
  return o.notPaths === null || !o.notPaths.matches(c.path);
}

function claimValues(
  claims: Readonly<Record<string, unknown>>,
  path: readonly string[],
): string[] | undefined {
  let v: unknown = claims;
  for (const k of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return undefined;
}

function headerValue(c: MatchContext, name: string): string | undefined {
  const v = c.headers?.[name];
  return v === undefined ? undefined : typeof v === 'string' ? v : v.join(',');
}

function valueMatches(m: ValueMatcher, cond: CompiledCondition, c: MatchContext): boolean {
  const a = cond.attr;
  switch (a.kind) {
    case 'source.ip':
      return m.type === 'cidr' && anyCidrContains(m.m, c.sourceIp);
    case 'remote.ip':
      return m.type === 'cidr' && anyCidrContains(m.m, c.remoteIp);
    case 'destination.ip':
      return m.type === 'cidr' && anyCidrContains(m.m, c.destinationIp);
    case 'destination.port':
      return m.type === 'port' && c.port !== undefined && m.m.has(c.port);
    case 'source.serviceAccount': {
      const sa = c.serviceAccount;
      return m.type === 'accounts' && sa !== undefined && m.m.has(sa);
    }
    case 'experimental':
      return false;
    default:
      break;
  }
  if (m.type !== 'string') return false;
  switch (a.kind) {
    case 'header':
      return m.m.matches(headerValue(c, a.name));
    case 'claims':
      return c.auth !== undefined && m.m.matchesAny(claimValues(c.auth.claims, a.path));
    case 'source.namespace':
      return m.m.matches(c.namespace);
    case 'source.principal':
      return m.m.matches(c.principal);
    case 'request.auth.principal':
      return m.m.matches(c.auth?.principal);
    case 'request.auth.audiences':
      return m.m.matchesAny(c.auth?.audiences);
    case 'request.auth.presenter':
      return m.m.matches(c.auth?.presenter);
    case 'connection.sni':
      return m.m.matches(c.sni);
    default:
      return false;
  }
}

function conditionMatches(cond: CompiledCondition, c: MatchContext, skipHttp: boolean): boolean {
  if (cond.http && skipHttp) return true;
  if (cond.attr.kind === 'experimental') return false;
  if (cond.values !== null && !valueMatches(cond.values, cond, c)) return false;
  return cond.notValues === null || !valueMatches(cond.notValues, cond, c);
}

/** from[] OR, to[] OR, when[] AND; the three AND'd. */
export function ruleMatches(r: CompiledRule, c: MatchContext, deny: boolean): boolean {
  let skipHttp = false;
  if (!c.http && r.hasHttp) {
    if (!deny) return false; // ALLOW/AUDIT rule needing HTTP never matches plain TCP
    skipHttp = true;
  }
  if (r.from.length > 0) {
    let any = false;
    for (let i = 0; i < r.from.length && !any; i++) any = sourceMatches(r.from[i]!, c, skipHttp);
    if (!any) return false;
  }
  if (r.to.length > 0) {
    let any = false;
    for (let i = 0; i < r.to.length && !any; i++) any = operationMatches(r.to[i]!, c, skipHttp);
    if (!any) return false;
  }
  for (let i = 0; i < r.when.length; i++) if (!conditionMatches(r.when[i]!, c, skipHttp)) return false;
  return true;
}

/** Index of the first matching rule, or -1. */
export function firstMatchingRule(p: CompiledAuthorizationPolicy, c: MatchContext): number {
  const deny = p.action === 'DENY' || p.action === 'CUSTOM';
  for (let i = 0; i < p.rules.length; i++) if (ruleMatches(p.rules[i]!, c, deny)) return i;
  return -1;
}
