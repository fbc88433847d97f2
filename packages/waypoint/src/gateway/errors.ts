import { WeftError } from '@weft/telemetry/errors';

/** Stable codes of the gateway modes (listed in docs/errors.md under "waypoint"). */
export const GatewayErrorCode = {
  /** A gateway setting (env/flag) is malformed. */
  BadConfig: 'WEFT_GATEWAY_BAD_CONFIG',
  /** A server's credentialName (or its CA) is missing or unusable: its connections are refused. */
  NoCredential: 'WEFT_GATEWAY_NO_CREDENTIAL',
  /** A Gateway, VirtualService or HTTPRoute part was skipped. */
  BadRoute: 'WEFT_GATEWAY_BAD_ROUTE',
  /** No route matched the request (404), or its destination is unknown (503). */
  NoRoute: 'WEFT_GATEWAY_NO_ROUTE',
  /** Egress with REGISTRY_ONLY: the host is not declared by a ServiceEntry or Service (502). */
  UnknownHost: 'WEFT_GATEWAY_UNKNOWN_HOST',
  /** TLS origination towards an upstream failed (bad server certificate, SAN mismatch, handshake). */
  Origination: 'WEFT_GATEWAY_ORIGINATION',
  /** A client certificate was refused (wrong CA, SAN not allowed) on a MUTUAL/OPTIONAL_MUTUAL server. */
  ClientCertificate: 'WEFT_GATEWAY_CLIENT_CERT',
  /** A gateway port could not be bound. */
  Listen: 'WEFT_GATEWAY_LISTEN',
} as const;
export type GatewayErrorCode = (typeof GatewayErrorCode)[keyof typeof GatewayErrorCode];

export class GatewayError extends WeftError {
  constructor(
    code: GatewayErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}
