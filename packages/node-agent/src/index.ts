export { NodeAgent, type NodeAgentOptions, READY_PODS } from './agent.js';
export { defaultWorkerThreads, loadConfig, type NodeConfig } from './config.js';
export type { DiscoveryView } from './discovery.js';
export { NodeAgentError, NodeErrorCode } from './errors.js';
export type { CertificateMaterial, IdentityProvider } from './identity.js';
export {
  type LifecycleAck,
  type LifecycleRequest,
  type PodInfo,
  parseRequest,
} from './lifecycle-protocol.js';
export { main } from './main.js';
export { type Route, routeOutbound } from './routing.js';
