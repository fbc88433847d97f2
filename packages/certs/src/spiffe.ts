import { WeftError } from '@weft/telemetry';

/** A Kubernetes workload identity: spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>. */
export interface SpiffeIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

const SCHEME = 'spiffe://';
// SPIFFE ID spec: trust domain is lowercase letters, digits, '.', '-', '_'.
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
// Kubernetes: namespaces are DNS-1123 labels, service accounts DNS-1123 subdomains.
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SERVICE_ACCOUNT = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const MAX_ID_LENGTH = 2048;

function invalid(input: string, why: string): WeftError {
  return new WeftError(
    'WEFT_IDENTITY_INVALID',
    `not a workload identity (${why}): expected spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`,
    { details: { identity: input.length > 200 ? `${input.slice(0, 200)}…` : input } },
  );
}

function fromPath(input: string, trustDomain: string, path: string): SpiffeIdentity {
  if (trustDomain.length === 0 || trustDomain.length > 255 || !TRUST_DOMAIN.test(trustDomain))
    throw invalid(input, 'bad trust domain');
  const parts = path.split('/');
  if (parts.length !== 5 || parts[0] !== '' || parts[1] !== 'ns' || parts[3] !== 'sa')
    throw invalid(input, 'path is not /ns/<namespace>/sa/<service-account>');
  const namespace = parts[2] ?? '';
  const serviceAccount = parts[4] ?? '';
  if (namespace.length > 63 || !NAMESPACE.test(namespace)) throw invalid(input, 'bad namespace');
  if (serviceAccount.length > 253 || !SERVICE_ACCOUNT.test(serviceAccount))
    throw invalid(input, 'bad service account');
  return { trustDomain, namespace, serviceAccount };
}

/** Parses `spiffe://td/ns/x/sa/y`; throws WEFT_IDENTITY_INVALID with the reason. */
export function parseSpiffeId(uri: string): SpiffeIdentity {
  if (uri.length > MAX_ID_LENGTH) throw invalid(uri, 'too long');
  if (!uri.startsWith(SCHEME)) throw invalid(uri, 'missing spiffe:// scheme');
  const rest = uri.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  if (slash < 0) throw invalid(uri, 'no path');
  return fromPath(uri, rest.slice(0, slash), rest.slice(slash));
}

/** Parses the policy principal form `td/ns/x/sa/y` (no scheme). */
export function parsePrincipal(principal: string): SpiffeIdentity {
  if (principal.length > MAX_ID_LENGTH) throw invalid(principal, 'too long');
  if (principal.startsWith(SCHEME)) throw invalid(principal, 'a principal has no spiffe:// scheme');
  const slash = principal.indexOf('/');
  if (slash < 0) throw invalid(principal, 'no path');
  return fromPath(principal, principal.slice(0, slash), principal.slice(slash));
}

export function tryParseSpiffeId(uri: string): SpiffeIdentity | undefined {
  try {
    return parseSpiffeId(uri);
  } catch {
    return undefined;
  }
}

export function isSpiffeId(uri: string): boolean {
  return tryParseSpiffeId(uri) !== undefined;
}

export function formatSpiffeId(id: SpiffeIdentity): string {
  return `${SCHEME}${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

export function formatPrincipal(id: SpiffeIdentity): string {
  return `${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** `spiffe://td/ns/x/sa/y` → `td/ns/x/sa/y`. */
export function principalOf(spiffeId: string): string {
  return formatPrincipal(parseSpiffeId(spiffeId));
}

/** Builds and validates an identity from its parts. */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  const uri = `${SCHEME}${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
  parseSpiffeId(uri);
  return uri;
}

/**
 * Our trust domain and its aliases (Istio's trustDomainAliases): identities from any of them are accepted
 * and, for policy matching, treated as if they were in the primary domain.
 */
export class TrustDomains {
  readonly primary: string;
  readonly #all: readonly string[];

  constructor(primary = 'cluster.local', aliases: readonly string[] = []) {
    for (const td of [primary, ...aliases])
      if (!TRUST_DOMAIN.test(td)) throw new WeftError('WEFT_IDENTITY_INVALID', `bad trust domain "${td}"`);
    this.primary = primary;
    this.#all = [primary, ...aliases.filter((a) => a !== primary)];
  }

  /** The primary domain first, then the aliases. */
  list(): readonly string[] {
    return this.#all;
  }

  accepts(trustDomain: string): boolean {
    return this.#all.includes(trustDomain);
  }

  /** Parses an identity and checks its trust domain; throws WEFT_IDENTITY_UNTRUSTED_DOMAIN otherwise. */
  check(uri: string): SpiffeIdentity {
    const id = parseSpiffeId(uri);
    if (!this.accepts(id.trustDomain))
      throw new WeftError(
        'WEFT_IDENTITY_UNTRUSTED_DOMAIN',
        `identity ${uri} is in trust domain "${id.trustDomain}", which is neither ours ("${this.primary}") nor an alias; add it to the trust domain aliases if it should be trusted`,
      );
    return id;
  }

  /** The same identity in the primary domain (alias → primary), for policy matching. */
  canonical(id: SpiffeIdentity): SpiffeIdentity {
    return this.accepts(id.trustDomain) && id.trustDomain !== this.primary
      ? { ...id, trustDomain: this.primary }
      : id;
  }
}
