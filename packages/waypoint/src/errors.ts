import { WeftError } from '@weft/telemetry/errors';

/** Stable codes of the waypoint (listed in docs/errors.md under "waypoint"). */
export const WaypointErrorCode = {
  /** A configuration value (env/argv) is missing or malformed. */
  BadConfig: 'WEFT_WAYPOINT_BAD_CONFIG',
  /** A JWKS could not be fetched or parsed. */
  JwksFetch: 'WEFT_WAYPOINT_JWKS_FETCH',
  /** The destination service has no healthy endpoint. */
  NoEndpoint: 'WEFT_WAYPOINT_NO_ENDPOINT',
  /** Connecting to (or talking to) the chosen endpoint failed. */
  Upstream: 'WEFT_WAYPOINT_UPSTREAM',
  /** The upstream did not answer within the route timeout. */
  UpstreamTimeout: 'WEFT_WAYPOINT_UPSTREAM_TIMEOUT',
  /** A RequestAuthentication or AuthorizationPolicy object was rejected (skipped, others still apply). */
  BadPolicy: 'WEFT_WAYPOINT_BAD_POLICY',
} as const;
export type WaypointErrorCode = (typeof WaypointErrorCode)[keyof typeof WaypointErrorCode];

export class WaypointError extends WeftError {
  constructor(
    code: WaypointErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}
