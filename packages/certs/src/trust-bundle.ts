import type { X509Certificate } from 'node:crypto';
import { WeftError } from '@weft/telemetry';
import { parseCertificates } from './certificate.js';

/** The roots trusted at one moment. `version` grows whenever the set changes. */
export interface TrustBundleSnapshot {
  readonly version: number;
  /** PEM, one certificate each, in the order they were added (oldest first). */
  readonly roots: readonly string[];
  readonly certs: readonly X509Certificate[];
}

export type BundleListener = (bundle: TrustBundleSnapshot) => void;

/**
 * The set of trusted roots. During a staged CA rotation it holds the old and the new root at once, so
 * certificates from either verify; removing a root is a separate, later step.
 */
export class TrustBundle {
  #snapshot: TrustBundleSnapshot;
  readonly #listeners = new Set<BundleListener>();

  constructor(rootsPem: string | readonly string[] = []) {
    this.#snapshot = TrustBundle.#build(rootsPem, 0);
  }

  static #build(rootsPem: string | readonly string[], version: number): TrustBundleSnapshot {
    const certs = parseCertificates(typeof rootsPem === 'string' ? rootsPem : rootsPem.join('\n'));
    const seen = new Set<string>();
    const unique: X509Certificate[] = [];
    for (const c of certs) {
      if (!c.ca)
        throw new WeftError('WEFT_CERTS_BAD_ROOT', `trust bundle entry ${c.subject} is not a CA certificate`);
      if (seen.has(c.fingerprint256)) continue;
      seen.add(c.fingerprint256);
      unique.push(c);
    }
    return Object.freeze({
      version,
      roots: Object.freeze(unique.map((c) => c.toString())),
      certs: Object.freeze(unique),
    });
  }

  get version(): number {
    return this.#snapshot.version;
  }

  get roots(): readonly string[] {
    return this.#snapshot.roots;
  }

  snapshot(): TrustBundleSnapshot {
    return this.#snapshot;
  }

  /**
   * Replaces the roots. Returns true (and notifies listeners) when the set changed. The version is
   * local and monotonic: max(current + 1, `version`), so caches keyed by it never go back.
   */
  update(rootsPem: string | readonly string[], version?: number): boolean {
    const next = TrustBundle.#build(rootsPem, 0);
    // An empty bundle would fail every handshake: treat it as a mistake and keep the current one.
    if (next.certs.length === 0)
      throw new WeftError('WEFT_CERTS_BAD_ROOT', 'refusing to replace the trust bundle with an empty one');
    const prev = this.#snapshot;
    const same =
      next.certs.length === prev.certs.length &&
      next.certs.every((c, i) => c.fingerprint256 === prev.certs[i]?.fingerprint256);
    if (same) return false;
    this.#snapshot = Object.freeze({ ...next, version: Math.max(prev.version + 1, version ?? 0) });
    for (const l of this.#listeners) l(this.#snapshot);
    return true;
  }

  /** True when `cert` is one of the roots (same fingerprint). */
  has(cert: X509Certificate): boolean {
    return this.#snapshot.certs.some((c) => c.fingerprint256 === cert.fingerprint256);
  }

  onChange(listener: BundleListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
