export type { NextHop, SocketFactory } from './client-connection.js';
export {
  type Authority,
  connectHeaders,
  formatHostPort,
  parseAuthority,
  randomTraceparent,
  type TunnelHeaderInput,
} from './connect-request.js';
export {
  type HboneCredentials,
  inTrustDomains,
  type PemCredentials,
  spiffeIdsOf,
  staticCredentials,
  trustDomainOf,
} from './credentials.js';
export { HboneError, HboneErrorCode } from './errors.js';
export {
  createHbonePool,
  type HbonePool,
  type HbonePoolOptions,
  type HbonePoolStats,
  type HboneTunnel,
  type TunnelRequest,
} from './pool.js';
export {
  abortStream,
  type PumpOptions,
  type PumpResult,
  pump,
  setStreamBufferDefaults,
  tuneSocket,
} from './pump.js';
export { createHboneServer } from './server.js';
export type {
  ConnectDecision,
  ConnectHandler,
  ConnectionAddresses,
  ConnectionReport,
  ConnectRequest,
  HboneServer,
  HboneServerOptions,
  ServerConnectionSnapshot,
  TunnelReport,
} from './server-types.js';
export * as hboneSettings from './settings.js';
export { connectUpstream, directHandler, type UpstreamOptions } from './upstream.js';
