import { WeftError } from '@weft/telemetry/errors';

/** Every code this package reports; each is listed in docs/errors.md under "hbone". */
export const HboneErrorCode = {
  /** Server: the request is not a CONNECT (400). */
  NotConnect: 'WEFT_HBONE_NOT_CONNECT',
  /** Server: :authority is not ip:port (400). */
  BadAuthority: 'WEFT_HBONE_BAD_AUTHORITY',
  /** Server: CONNECT to one of the proxy's own ports (loop guard, 503). */
  IllegalPort: 'WEFT_HBONE_ILLEGAL_PORT',
  /** Server: the upstream refused or failed the connection (503). */
  UpstreamRefused: 'WEFT_HBONE_UPSTREAM_REFUSED',
  /** Server: the upstream did not accept in time (503). */
  UpstreamTimeout: 'WEFT_HBONE_UPSTREAM_TIMEOUT',
  /** Server: the handler threw instead of deciding (503). */
  HandlerFailed: 'WEFT_HBONE_HANDLER_FAILED',
  /** Either side: TLS + HTTP/2 handshake did not finish in time. */
  HandshakeTimeout: 'WEFT_HBONE_HANDSHAKE_TIMEOUT',
  /** Either side: the peer's certificate chain does not lead to the trust bundle, or is missing. */
  PeerUntrusted: 'WEFT_HBONE_PEER_UNTRUSTED',
  /** Either side: the peer's SPIFFE identity is not acceptable. */
  PeerIdentity: 'WEFT_HBONE_PEER_IDENTITY',
  /** Either side: the peer did not negotiate TLS 1.3 with ALPN h2. */
  NotH2: 'WEFT_HBONE_NOT_H2',
  /** Either side: the peer broke the HTTP/2 protocol or abused it (floods, rapid reset). */
  Protocol: 'WEFT_HBONE_PROTOCOL',
  /** Either side: no PING reply in time; the connection is considered dead. */
  PingTimeout: 'WEFT_HBONE_PING_TIMEOUT',
  /** Client: the TCP connect to the next hop timed out. */
  ConnectTimeout: 'WEFT_HBONE_CONNECT_TIMEOUT',
  /** Client: the TCP or TLS connection to the next hop failed. */
  ConnectFailed: 'WEFT_HBONE_CONNECT_FAILED',
  /** Client: the server answered the CONNECT with a status other than 200. */
  Rejected: 'WEFT_HBONE_REJECTED',
  /** Client: the stream was reset or the connection closed before a response. */
  StreamReset: 'WEFT_HBONE_STREAM_RESET',
  /** Client: the pool was closed. */
  PoolClosed: 'WEFT_HBONE_POOL_CLOSED',
  /** Client: the caller aborted the tunnel open. */
  Aborted: 'WEFT_HBONE_ABORTED',
} as const;

export type HboneErrorCode = (typeof HboneErrorCode)[keyof typeof HboneErrorCode];

export class HboneError extends WeftError {
  /** The HTTP status the server answered or would answer with, when there is one. */
  readonly status: number | undefined;

  constructor(
    code: HboneErrorCode,
    message: string,
    options: { cause?: unknown; status?: number; details?: Record<string, unknown> } = {},
  ) {
    const init: { cause?: unknown; details?: Record<string, unknown> } = {};
    if (options.cause !== undefined) init.cause = options.cause;
    if (options.details !== undefined) init.details = options.details;
    super(code, message, init);
    this.status = options.status;
  }
}
