/** What the HTTP engines share: policies, endpoints, upstream clients, telemetry and limits. */
import type { Logger } from '@weft/telemetry';
import type { Endpoint, EndpointIndex } from './mesh-view.js';
import type { WaypointPolicies } from './policies.js';
import type { WaypointTelemetry } from './telemetry.js';
import type { UpstreamConnector } from './upstream.js';
import type { UpstreamClients } from './upstream-clients.js';

export interface HttpLimits {
  /** Largest request header block (default 60 KiB, Envoy's). Larger: 431. */
  readonly maxHeaderBytes: number;
  /** A client must finish sending headers within this (default 30 s). Slower: 408. */
  readonly headersTimeoutMs: number;
  /** Idle keep-alive downstream connections are closed after this (default 60 s). */
  readonly keepAliveTimeoutMs: number;
  /** Whole-request timeout towards the upstream (0 = none, Istio's default). Exceeded: 504. */
  readonly requestTimeoutMs: number;
  /** Endpoints tried for one request when connecting fails (default 3). */
  readonly maxAttempts: number;
}

export const DEFAULT_LIMITS: HttpLimits = {
  maxHeaderBytes: 60 * 1024,
  headersTimeoutMs: 30_000,
  keepAliveTimeoutMs: 60_000,
  requestTimeoutMs: 0,
  maxAttempts: 3,
};

export interface HttpEngineDeps {
  readonly policies: WaypointPolicies;
  readonly endpoints: EndpointIndex;
  readonly clients: UpstreamClients;
  readonly connector: UpstreamConnector;
  readonly telemetry: WaypointTelemetry;
  readonly logger: Logger;
  readonly limits: HttpLimits;
}

/** Envoy's texts for answers the proxy makes itself. */
export const UpstreamMessages = {
  NoHealthyUpstream: 'no healthy upstream',
  ConnectFailure:
    'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
  Reset: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
  Timeout: 'upstream request timeout',
} as const;

export function endpointLabel(ep: Endpoint | undefined): string | undefined {
  return ep === undefined ? undefined : `${ep.ip}:${ep.port}`;
}
