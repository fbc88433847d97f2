import type { HboneCredentials } from '@weft/hbone';

/** A certificate as PEM, for worker threads (which build their own TLS contexts from it). Never logged. */
export interface CertificateMaterial {
  identity: string;
  /** Leaf first, then intermediates. */
  chainPem: string;
  keyPem: string;
  /** Every trusted root. */
  rootsPem: string;
  trustDomains: readonly string[];
}

/** Where pod certificates come from (the CA through @weft/certs in production, a test CA in tests). */
export interface IdentityProvider {
  /** Credentials for a SPIFFE ID; resolves once its first certificate is there. */
  credentials(identity: string): Promise<HboneCredentials>;
  /** The current certificate as PEM (fetching it first if needed). */
  material(identity: string): Promise<CertificateMaterial>;
  /** Called with fresh material after each renewal or trust-bundle change; returns an unsubscribe. */
  onRotation(listener: (material: CertificateMaterial) => void): () => void;
  /** The pod left the node: stop renewing and drop the key. */
  forget(identity: string): void;
  /** For /config_dump: identities with serial and expiry (never keys). */
  dump(): { identity: string; serial?: string; notAfter?: string }[];
}
