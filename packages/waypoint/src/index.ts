export { duplexPair, PairEnd } from './duplex-pair.js';
export { L7Engine } from './engine.js';
export { WaypointError, WaypointErrorCode } from './errors.js';
export {
  CombinedCredentials,
  type Credential,
  type CredentialSource,
  FileCredentials,
  SecretCredentials,
} from './gateway/credentials.js';
export { GatewayError, GatewayErrorCode } from './gateway/errors.js';
export {
  createGateway,
  defaultGatewayLabels,
  type Gateway,
  type GatewayMode,
  type GatewayOptions,
} from './gateway/gateway.js';
export type { OutboundTrafficPolicy } from './gateway/router.js';
export { DEFAULT_LIMITS, type HttpLimits } from './http-deps.js';
export { httpFetcher, inlineJwks, type JwksFetcher, JwksRegistry, parseJwks, RemoteJwks } from './jwks.js';
export { JWT_ALGORITHMS, JwtAuthenticator } from './jwt-authn.js';
export { main } from './main.js';
export {
  type Destination,
  type Endpoint,
  EndpointIndex,
  type MeshView,
  resolveDestination,
  StaticMeshView,
} from './mesh-view.js';
export { WaypointPolicies, type WaypointRef, waypointLabels } from './policies.js';
export { declaredProtocol, sniff } from './sniff.js';
export { hboneConnector, tcpConnector, type UpstreamConnector } from './upstream.js';
export { createWaypoint, type StreamInfo, type Waypoint, type WaypointOptions } from './waypoint.js';
