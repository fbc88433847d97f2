export {
  decodeResource,
  defaultTypes,
  XdsClient,
  type XdsClientOptions,
  type XdsClientStats,
  type XdsClientTls,
} from './client.js';
export {
  authorizationFromMsg,
  authorizationToMsg,
  type DecodedAddress,
  decodeAddress,
  decodeAuthorization,
  decodeConfig,
  encodeAddress,
  encodeAuthorization,
  encodeConfig,
  serviceFromMsg,
  serviceToMsg,
  workloadFromMsg,
  workloadToMsg,
} from './convert.js';
export { XdsDecodeError, XdsProtocolError } from './errors.js';
export { Node } from './gen/envoy/config/core/v3/base.js';
export {
  AggregatedDiscoveryServiceClient,
  AggregatedDiscoveryServiceService,
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  Resource,
} from './gen/envoy/service/discovery/v3/discovery.js';
export {
  Action as AuthorizationActionMsg,
  Authorization as AuthorizationMsg,
  Scope as AuthorizationScopeMsg,
} from './gen/istio/security/authorization.js';
export {
  IstioCertificateRequest,
  IstioCertificateResponse,
  IstioCertificateServiceClient,
  type IstioCertificateServiceServer,
  IstioCertificateServiceService,
} from './gen/istio/v1/auth/ca.js';
export {
  Address as AddressMsg,
  Service as ServiceMsg,
  TunnelProtocol as TunnelProtocolMsg,
  Workload as WorkloadMsg,
} from './gen/istio/workload/workload.js';
export {
  TrustBundle as TrustBundleMessage,
  TrustBundleServiceClient,
  type TrustBundleServiceServer,
  TrustBundleServiceService,
  WatchTrustBundleRequest,
} from './gen/weft/ca/v1/trust_bundle.js';
export { ConfigResource } from './gen/weft/config/v1/config.js';
export { bytesToIp, ipToBytes } from './ip.js';
export {
  diffStates,
  type ResourceDelta,
  resourceOf,
  roleFilter,
  stateToResources,
} from './resources.js';
export {
  type ConnectedClient,
  type ServerResource,
  type XdsClientSnapshot,
  XdsServer,
  type XdsServerOptions,
} from './server.js';
export { type DecodedResource, type StoreChange, type StoreUpsert, XdsStore } from './store.js';
export {
  ADS_METHOD,
  NODE_META,
  nodeId,
  parseRole,
  TYPE_ADDRESS,
  TYPE_AUTHORIZATION,
  TYPE_CONFIG,
  type XdsNodeInfo,
  type XdsRole,
} from './types.js';
