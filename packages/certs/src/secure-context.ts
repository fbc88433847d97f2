import { createSecureContext, type SecureContext } from 'node:tls';
import type { TrustBundleSnapshot } from './trust-bundle.js';
import type { WorkloadCertificate } from './types.js';

/**
 * SecureContexts per identity, keyed by identity + serial + bundle version. Building one costs ~2 ms, so
 * connections share it; a rotation or a bundle change builds a new one for new connections while open
 * connections keep theirs.
 */
export class SecureContextCache {
  readonly #entries = new Map<string, { key: string; context: SecureContext }>();

  get(cert: WorkloadCertificate, bundle: TrustBundleSnapshot): SecureContext {
    const key = `${cert.serial}|${bundle.version}`;
    const hit = this.#entries.get(cert.identity);
    if (hit !== undefined && hit.key === key) return hit.context;
    const context = createSecureContext({
      cert: cert.chainPem.join(''),
      key: cert.keyPem,
      ca: bundle.roots as string[],
      minVersion: 'TLSv1.2',
    });
    this.#entries.set(cert.identity, { key, context });
    return context;
  }

  delete(identity: string): void {
    this.#entries.delete(identity);
  }

  clear(): void {
    this.#entries.clear();
  }
}
