import type { SecureContext } from 'node:tls';
import type { TrustBundleSnapshot } from './trust-bundle.js';

/** A certificate with its key, ready for TLS. */
export interface WorkloadCertificate {
  /** The SPIFFE ID (or, for file-mounted credentials, the credential's name). */
  readonly identity: string;
  /** Leaf first, then intermediates; the root is not included. */
  readonly chainPem: readonly string[];
  /** PKCS#8 PEM. Never log it. */
  readonly keyPem: string;
  /** Upper-case hex. */
  readonly serial: string;
  /** Milliseconds since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
  /** PEM of the trusted root the chain ends at. */
  readonly rootPem: string;
}

export type RotationListener = (cert: WorkloadCertificate, previous: WorkloadCertificate | undefined) => void;
export type BundleChangeListener = (bundle: TrustBundleSnapshot) => void;

/**
 * Where every Weft component gets its certificates: from pilot's CA (CertificateManager) or from files
 * mounted for a gateway (FileCertificateClient).
 */
export interface CertificateClient {
  /** The certificate for `identity`, fetching it on first use; cached and renewed in the background. */
  getCertificate(identity: string): Promise<WorkloadCertificate>;
  /** The cached, unexpired certificate, without fetching. */
  current(identity: string): WorkloadCertificate | undefined;
  trustBundle(): TrustBundleSnapshot;
  /**
   * A SecureContext with the identity's chain and key and every trusted root as `ca`; cached per
   * identity + serial + bundle version, so a rotation affects new connections only. Undefined until
   * the first certificate arrived (or after it expired).
   */
  secureContext(identity: string): SecureContext | undefined;
  /** Stops renewing `identity` (its pod left the node) and drops the key. */
  forget(identity: string): void;
  onRotation(listener: RotationListener): () => void;
  onBundleChange(listener: BundleChangeListener): () => void;
  close(): void;
}
