export { type AnalyzeOptions, analyze } from './analyze.js';
export {
  buildIndex,
  type ConfigIndex,
  type GatewayInfo,
  type IndexOptions,
  WAYPOINT_CLASS,
} from './config-index.js';
export {
  GATEWAY_API_GROUP,
  groupOf,
  ISTIO_NETWORKING_GROUP,
  ISTIO_SECURITY_GROUP,
  KINDS,
  type KindInfo,
  kindInfo,
  objectKey,
} from './kinds.js';
export type {
  EndpointSliceInfo,
  NamespaceInfo,
  NodeInfo,
  PodInfo,
  ServiceInfo,
  ServicePortInfo,
} from './kube.js';
export { type KubeCredentials, type KubeItem, kubeGet, kubeList } from './kube-list.js';
export { KUBE_RESOURCES, type KubeResource } from './kube-resources.js';
export { LABEL } from './labels.js';
export {
  type AppProtocol,
  type Authorization,
  type AuthorizationScope,
  authorizationKey,
  type ConfigObject,
  configKey,
  type DiscoveryState,
  type GatewayAddress,
  type IpBlock,
  type L4Clause,
  type L4Match,
  type L4Rule,
  type NetworkAddress,
  type PortMapping,
  type Service,
  type ServiceAccountMatch,
  type StringMatch,
  serviceKey,
  type TunnelProtocol,
  type Workload,
  type WorkloadStatus,
  type WorkloadType,
  workloadSpiffeId,
  workloadUid,
} from './model.js';
export {
  collectKubeObject,
  describeObject,
  type KubeObject,
  MAX_FILE_BYTES,
  type ParseResult,
  parseYaml,
  toKubeObject,
} from './parse.js';
export {
  analyzeConfig,
  type CompiledConfig,
  type ConfigFile,
  compileConfig,
  parseFiles,
} from './pipeline.js';
export {
  ConfigCode,
  type ConfigProblem,
  formatConfigProblem,
  formatLocation,
  type SourceLocation,
} from './problems.js';
export { isEnrolled, type TranslateOptions, type Translation, translate } from './translate.js';
export { waypointAddress } from './waypoints.js';
