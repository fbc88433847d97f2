// The CA's wire protocol lives with the other protocols in @weft/xds; re-exported for the CA's users.
export {
  IstioCertificateRequest,
  IstioCertificateResponse,
  type IstioCertificateServiceServer,
  IstioCertificateServiceService,
  TrustBundleMessage,
  type TrustBundleServiceServer,
  TrustBundleServiceService,
  WatchTrustBundleRequest,
} from '@weft/xds';
export { TrustBundleWatcher, type TrustBundleWatcherOptions } from './bundle-watch.js';
export { CA_ERROR_CODE_METADATA, caError, IstioCaClient, type IstioCaClientOptions } from './ca-client.js';
export {
  type CertificateInfo,
  certificateInfo,
  parseCertificate,
  parseCertificates,
  parseSubjectAltName,
  peerSpiffeId,
  spiffeIdsOf,
} from './certificate.js';
export { type ChainCheck, type ValidatedChain, validateChain } from './chain.js';
export { type Clock, ManualClock, systemClock } from './clock.js';
export {
  generateKeyAndCsr,
  type KeyAndCsr,
  type ParsedCsr,
  parseCsr,
  parseGeneralNames,
  type SubjectAltNames,
} from './csr.js';
export * as der from './der.js';
export { FileCertificateClient, type FileCertificateClientOptions } from './file-credentials.js';
export type { PilotConnection } from './grpc-tls.js';
export { CertificateManager, type CertificateManagerOptions, type CertificateSigner } from './manager.js';
export { type CertMetrics, certMetrics } from './metrics.js';
export { type PemBlock, pemBlocks, splitCertificates, toPem } from './pem.js';
export {
  type PilotCertificates,
  type PilotCertificatesOptions,
  startPilotCertificates,
} from './pilot-client.js';
export { SecureContextCache } from './secure-context.js';
export {
  formatPrincipal,
  formatSpiffeId,
  isSpiffeId,
  parsePrincipal,
  parseSpiffeId,
  principalOf,
  type SpiffeIdentity,
  spiffeId,
  TrustDomains,
  tryParseSpiffeId,
} from './spiffe.js';
export { type TlsCredentials, tlsCredentials } from './tls-credentials.js';
export { type BundleListener, TrustBundle, type TrustBundleSnapshot } from './trust-bundle.js';
export type {
  BundleChangeListener,
  CertificateClient,
  RotationListener,
  WorkloadCertificate,
} from './types.js';
