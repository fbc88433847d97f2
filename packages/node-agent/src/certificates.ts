import { type CertificateManager, type TrustDomains, tlsCredentials } from '@weft/certs';
import type { HboneCredentials } from '@weft/hbone';
import type { IdentityProvider } from './identity.js';

/** IdentityProvider over @weft/certs: certificates from pilot's CA, renewed in the background. */
export function caIdentityProvider(manager: CertificateManager, domains: TrustDomains): IdentityProvider {
  return {
    credentials: (identity): Promise<HboneCredentials> => tlsCredentials(manager, identity, domains),
    forget: (identity) => manager.forget(identity),
    dump: () =>
      manager.identities().map((identity) => {
        const cert = manager.current(identity);
        return cert === undefined
          ? { identity }
          : { identity, serial: cert.serial, notAfter: new Date(cert.notAfter).toISOString() };
      }),
  };
}
