import type { HboneCredentials } from '@weft/hbone';

/** Where pod certificates come from (the CA through @weft/certs in production, a test CA in tests). */
export interface IdentityProvider {
  /** Credentials for a SPIFFE ID; resolves once its first certificate is there. */
  credentials(identity: string): Promise<HboneCredentials>;
  /** The pod left the node: stop renewing and drop the key. */
  forget(identity: string): void;
  /** For /config_dump: identities with serial and expiry (never keys). */
  dump(): { identity: string; serial?: string; notAfter?: string }[];
}
