export { gatewayApiCrds, istioCrds } from './crds.js';
export { ManifestsError, ManifestsErrorCode } from './errors.js';
export { type ManifestGroup, renderInstall, renderInstallGroups, waypointGatewayClass } from './install.js';
export { NODE, NODE_CAPABILITIES, nodeClusterRole, nodeObjects } from './node.js';
export {
  applySets,
  defaultInstallOptions,
  type InstallOptions,
  type Resources,
  validateOptions,
} from './options.js';
export { PILOT, pilotClusterRole, pilotObjects } from './pilot.js';
export type {
  IClusterRole,
  IClusterRoleBinding,
  IContainer,
  ICustomResourceDefinition,
  IDaemonSet,
  IDeployment,
  IGatewayClass,
  INamespace,
  IPodSpec,
  IRole,
  IRoleBinding,
  IService,
  IServiceAccount,
  KubeObject,
} from './types.js';
export {
  GATEWAY_NAME_LABEL,
  isWaypoint,
  WAYPOINT_CLASS,
  type WaypointGateway,
  type WaypointOptions,
  waypointObjects,
} from './waypoint.js';
