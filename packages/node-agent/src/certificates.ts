import {
  type CertificateManager,
  type TrustDomains,
  tlsCredentials,
  type WorkloadCertificate,
} from '@weft/certs';
import type { HboneCredentials } from '@weft/hbone';
import type { CertificateMaterial, IdentityProvider } from './identity.js';

/** IdentityProvider over @weft/certs: certificates from pilot's CA, renewed in the background. */
export function caIdentityProvider(manager: CertificateManager, domains: TrustDomains): IdentityProvider {
  const toMaterial = (cert: WorkloadCertificate): CertificateMaterial => ({
    identity: cert.identity,
    chainPem: cert.chainPem.join(''),
    keyPem: cert.keyPem,
    rootsPem: manager.trustBundle().roots.join(''),
    trustDomains: domains.list(),
  });
  return {
    credentials: (identity): Promise<HboneCredentials> => tlsCredentials(manager, identity, domains),
    material: async (identity) => toMaterial(await manager.getCertificate(identity)),
    onRotation: (listener) => {
      const offCert = manager.onRotation((cert) => listener(toMaterial(cert)));
      const offBundle = manager.onBundleChange(() => {
        for (const identity of manager.identities()) {
          const cert = manager.current(identity);
          if (cert !== undefined) listener(toMaterial(cert));
        }
      });
      return () => {
        offCert();
        offBundle();
      };
    },
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
