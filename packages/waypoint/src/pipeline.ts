/**
 * The per-request decision, the same for HTTP/1.1 and HTTP/2: RequestAuthentication (JWT) first, then
 * AuthorizationPolicy with the client's HBONE identity and the request's L7 attributes. Pure apart from
 * the JWKS lookups inside the authenticator.
 */
import type { RequestAttributes } from '@weft/policy';
import type { HeaderEdits } from './headers.js';
import type { HeaderBag, JwtOutcome } from './jwt-authn.js';
import type { WaypointPolicies } from './policies.js';
import type { ConnInfo } from './telemetry.js';

export interface RequestHead {
  readonly method: string;
  /** Path with query. */
  readonly path: string;
  readonly authority: string;
  readonly headers: HeaderBag;
}

export type Verdict =
  | { readonly kind: 'forward'; readonly edits: HeaderEdits; readonly reason: string }
  | {
      readonly kind: 'reject';
      readonly status: number;
      readonly body: string;
      readonly wwwAuthenticate?: string;
      readonly reason: string;
    };

export const RBAC_DENIED = 'RBAC: access denied';
const NO_EDITS: HeaderEdits = { remove: [], set: [] };
const FORWARD: Verdict = { kind: 'forward', edits: NO_EDITS, reason: 'allowed' };

function stripQuery(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q);
}

function authorizeRequest(
  policies: WaypointPolicies,
  conn: ConnInfo,
  head: RequestHead,
  auth: RequestAttributes['auth'],
): Verdict | undefined {
  // One object literal of fixed shape (no spreads: this runs for every request).
  const request: RequestAttributes = {
    sourcePrincipal: conn.peerIdentity === '' ? undefined : conn.peerIdentity,
    sourceIp: conn.sourceIp,
    destinationIp: conn.dest.ip,
    destinationPort: conn.dest.port,
    http: { host: head.authority, method: head.method, path: stripQuery(head.path), headers: head.headers },
    auth,
  };
  const decision = policies.authorize(conn.dest, request);
  if (!decision.allowed) return { kind: 'reject', status: 403, body: RBAC_DENIED, reason: decision.reason };
  return undefined;
}

function afterAuthn(
  policies: WaypointPolicies,
  conn: ConnInfo,
  head: RequestHead,
  outcome: JwtOutcome,
): Verdict {
  if (outcome.kind === 'denied') {
    return {
      kind: 'reject',
      status: outcome.status,
      body: outcome.message,
      ...(outcome.wwwAuthenticate === undefined ? {} : { wwwAuthenticate: outcome.wwwAuthenticate }),
      reason: `RequestAuthentication: ${outcome.message}`,
    };
  }
  const auth = outcome.kind === 'authenticated' ? outcome.auth : undefined;
  const denied = authorizeRequest(policies, conn, head, auth);
  if (denied !== undefined) return denied;
  if (outcome.kind !== 'authenticated') return FORWARD;
  return {
    kind: 'forward',
    edits: { remove: outcome.removeLocations.map((l) => l.name), set: outcome.setHeaders },
    reason: `allowed; jwt ${outcome.auth.principal}`,
  };
}

/** Decides one request. Synchronous unless a JWT needs its signature checked (not cached yet). */
export function decide(
  policies: WaypointPolicies,
  conn: ConnInfo,
  head: RequestHead,
): Verdict | Promise<Verdict> {
  const { authn } = policies.forDestination(conn.dest);
  if (authn === undefined) return authorizeRequest(policies, conn, head, undefined) ?? FORWARD;
  const outcome = authn.authenticate(head.method, head.authority, head.path, head.headers);
  if (outcome instanceof Promise) return outcome.then((o) => afterAuthn(policies, conn, head, o));
  return afterAuthn(policies, conn, head, outcome);
}
