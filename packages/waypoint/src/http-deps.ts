/** What the HTTP engines share: policies, endpoints, upstream clients, telemetry and limits. */
import type { Logger } from '@weft/telemetry';
import type { Endpoint, EndpointIndex } from './mesh-view.js';
import type { RequestHead } from './pipeline.js';
import type { WaypointPolicies } from './policies.js';
import type { ConnInfo, WaypointTelemetry } from './telemetry.js';
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
  /** Per-request routing (gateways); without it a request goes to the connection's destination. */
  readonly router?: RequestRouter;
}

/** Where one request goes: endpoints to try, or an answer the proxy gives itself (404 no route, 502). */
export type RouteResult =
  | { readonly endpoints: readonly Endpoint[] }
  | { readonly status: number; readonly body: string; readonly reason: string };

/** Chooses the upstream of each request by its host and path (VirtualService / HTTPRoute). */
export interface RequestRouter {
  route(conn: ConnInfo, head: RequestHead): RouteResult;
}

/** The endpoints for one request: the router's choice, else the connection destination's endpoints. */
export function routeRequest(deps: HttpEngineDeps, conn: ConnInfo, head: RequestHead): RouteResult {
  if (deps.router !== undefined) return deps.router.route(conn, head);
  return { endpoints: deps.endpoints.endpoints(conn.dest) };
}

/** The per-request record both protocol paths keep: Envoy's response flags and the denial reason. */
export interface AnsweredExchange {
  flags: string;
  reason: string | undefined;
}

/**
 * The endpoints to try for a request, or undefined once the proxy has answered it itself: the router's
 * own answer (flag NR), or 503 "no healthy upstream" when nothing is left to try (flag UH).
 */
export function endpointsOrAnswer(
  deps: HttpEngineDeps,
  conn: ConnInfo,
  head: RequestHead,
  ex: AnsweredExchange,
  reply: (status: number, body: string) => void,
): readonly Endpoint[] | undefined {
  const routed = routeRequest(deps, conn, head);
  if ('status' in routed) {
    ex.flags = 'NR';
    ex.reason = routed.reason;
    reply(routed.status, routed.body);
    return undefined;
  }
  if (routed.endpoints.length === 0) {
    ex.flags = 'UH';
    reply(503, UpstreamMessages.NoHealthyUpstream);
    return undefined;
  }
  return routed.endpoints;
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
