/**
 * Trust domain aliases, as istiod applies them: a principal whose trust domain is the mesh's (or the
 * default `cluster.local`, or one of its aliases) matches identities from every one of them, so a
 * trust-domain migration needs no policy edits.
 */
import type { AuthorizationPolicy, AuthzCondition, AuthzSource } from './types.js';

export interface TrustDomainOptions {
  /** The mesh trust domain (default `cluster.local`). */
  readonly trustDomain?: string;
  readonly trustDomainAliases?: readonly string[];
}

const DEFAULT_TRUST_DOMAIN = 'cluster.local';

export function expandPrincipals(values: readonly string[], opts: TrustDomainOptions): readonly string[] {
  const local = opts.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const aliases = opts.trustDomainAliases ?? [];
  if (aliases.length === 0 && local === DEFAULT_TRUST_DOMAIN) return values;
  const domains = [...new Set([local, ...aliases])];
  const out: string[] = [];
  for (const v of values) {
    const i = v.indexOf('/ns/');
    const td = i <= 0 ? '' : v.slice(0, i);
    if (td === '' || td.includes('*') || (td !== DEFAULT_TRUST_DOMAIN && !domains.includes(td))) {
      out.push(v);
      continue;
    }
    const rest = v.slice(i);
    for (const d of domains) out.push(d + rest);
  }
  return [...new Set(out)];
}

function source(s: AuthzSource, o: TrustDomainOptions): AuthzSource {
  return {
    ...s,
    principals: expandPrincipals(s.principals, o),
    notPrincipals: expandPrincipals(s.notPrincipals, o),
  };
}

function condition(c: AuthzCondition, o: TrustDomainOptions): AuthzCondition {
  if (c.key !== 'source.principal') return c;
  return { ...c, values: expandPrincipals(c.values, o), notValues: expandPrincipals(c.notValues, o) };
}

/** The policy with every principal expanded over the trust domain and its aliases. */
export function applyTrustDomainAliases(
  p: AuthorizationPolicy,
  o: TrustDomainOptions | undefined,
): AuthorizationPolicy {
  if (
    o === undefined ||
    ((o.trustDomainAliases ?? []).length === 0 &&
      (o.trustDomain ?? DEFAULT_TRUST_DOMAIN) === DEFAULT_TRUST_DOMAIN)
  ) {
    return p;
  }
  return {
    ...p,
    rules: p.rules.map((r) => ({
      from: r.from.map((s) => source(s, o)),
      to: r.to,
      when: r.when.map((c) => condition(c, o)),
    })),
  };
}
