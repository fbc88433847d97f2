import { createSecureContext, type SecureContext } from 'node:tls';
import { spiffeIdsOf } from '@weft/certs';

/** The SPIFFE URI SANs of a peer certificate (the certificate library's parser). */
export { spiffeIdsOf };

/**
 * How HBONE gets certificates: the caller (a certificate library) provides them; this package never
 * talks to a CA. `secureContext()` is called once per new connection, so a rotated certificate or trust
 * bundle takes effect on the next connection without touching open ones.
 */
export interface HboneCredentials {
  /** Our SPIFFE ID, e.g. spiffe://cluster.local/ns/prod/sa/orders. */
  readonly identity: string;
  /** Certificate chain + key + trusted roots (the `ca` of tls.createSecureContext). Cache it. */
  secureContext(): SecureContext;
  /** Trust domains we accept peers from: ours first, then aliases. */
  trustDomains(): readonly string[];
}

const SPIFFE_PREFIX = 'spiffe://';

/** The trust domain of a SPIFFE ID, or undefined if it is not one. */
export function trustDomainOf(spiffeId: string): string | undefined {
  if (!spiffeId.startsWith(SPIFFE_PREFIX)) return undefined;
  const slash = spiffeId.indexOf('/', SPIFFE_PREFIX.length);
  const domain = spiffeId.slice(SPIFFE_PREFIX.length, slash === -1 ? undefined : slash);
  return domain.length > 0 ? domain.toLowerCase() : undefined;
}

/** Istio's rule: a peer is in our mesh when one of its SPIFFE SANs is in one of our trust domains. */
export function inTrustDomains(ids: readonly string[], domains: readonly string[]): boolean {
  for (const id of ids) {
    const domain = trustDomainOf(id);
    if (domain === undefined) continue;
    for (const d of domains) if (d.toLowerCase() === domain) return true;
  }
  return false;
}

/** PEM material for `staticCredentials`. */
export interface PemCredentials {
  identity: string;
  /** Leaf first, then intermediates. */
  certChainPem: string;
  keyPem: string;
  /** Trusted roots (the trust bundle), concatenated PEM. */
  rootsPem: string;
  /** Default: the identity's own trust domain. */
  trustDomains?: readonly string[];
}

/**
 * Fixed credentials from PEM with one SecureContext built up front (TLS 1.3 only). For tests,
 * benchmarks and file-mounted certificates; rotating identities come from the certificate library.
 */
export function staticCredentials(pem: PemCredentials): HboneCredentials {
  const context = createSecureContext({
    cert: pem.certChainPem,
    key: pem.keyPem,
    ca: pem.rootsPem,
    minVersion: 'TLSv1.3',
  });
  const domain = trustDomainOf(pem.identity);
  const domains = pem.trustDomains ?? (domain === undefined ? [] : [domain]);
  return { identity: pem.identity, secureContext: () => context, trustDomains: () => domains };
}
