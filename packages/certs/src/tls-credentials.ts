import type { SecureContext } from 'node:tls';
import { WeftError } from '@weft/telemetry';
import type { TrustDomains } from './spiffe.js';
import type { CertificateClient } from './types.js';

/** What @weft/hbone consumes (its HboneCredentials): our identity, a SecureContext, accepted trust domains. */
export interface TlsCredentials {
  readonly identity: string;
  /** The current SecureContext; a new one after each rotation or bundle change. */
  secureContext(): SecureContext;
  trustDomains(): readonly string[];
  /** PEM roots currently trusted. */
  trustedRoots(): readonly string[];
}

/**
 * Credentials for one identity, after its first certificate arrived. `secureContext()` throws
 * WEFT_CERTS_NO_CERTIFICATE if the certificate expired and could not be renewed.
 */
export async function tlsCredentials(
  client: CertificateClient,
  identity: string,
  trustDomains: TrustDomains,
): Promise<TlsCredentials> {
  await client.getCertificate(identity);
  return {
    identity,
    secureContext() {
      const ctx = client.secureContext(identity);
      if (ctx === undefined) {
        void client.getCertificate(identity).catch(() => {});
        throw new WeftError(
          'WEFT_CERTS_NO_CERTIFICATE',
          `no valid certificate for ${identity} yet; the CA may be unreachable`,
        );
      }
      return ctx;
    },
    trustDomains: () => trustDomains.list(),
    trustedRoots: () => client.trustBundle().roots,
  };
}
