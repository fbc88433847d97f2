import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '@weft/telemetry';
import type { HboneCredentials } from './credentials.js';
import type { HboneError } from './errors.js';
import type { PumpResult } from './pump.js';

/** Addresses of the TLS connection a CONNECT arrived on. */
export interface ConnectionAddresses {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/** One CONNECT stream, handed to the server's handler. */
export interface ConnectRequest {
  /** The peer's identity: the first SPIFFE URI SAN of its certificate. */
  peerIdentity: string;
  /** All SPIFFE URI SANs of the peer certificate. */
  peerIdentities: readonly string[];
  /** :authority as sent (ip:port). */
  authority: string;
  host: string;
  port: number;
  headers: IncomingHttpHeaders;
  connection: ConnectionAddresses;
  /** Aborted when the client resets the stream or the connection goes away before the decision. */
  signal: AbortSignal;
}

/** The handler's decision: a connected upstream (the server then answers 200), or a refusal. */
export type ConnectDecision =
  | {
      /** Already connected (200 is sent right away, so connect before returning). */
      upstream: Duplex;
      /** Extra response headers on the 200 (e.g. the destination's baggage). */
      headers?: OutgoingHttpHeaders;
      /** Called once when the tunnel is over, with bytes and duration. */
      onClose?: (report: TunnelReport) => void;
    }
  | { status: 400 | 401 | 503; reason: string };

export type ConnectHandler = (request: ConnectRequest) => ConnectDecision | Promise<ConnectDecision>;

/** One finished tunnel (stream ↔ upstream), server side. bytesAtoB = received from the peer. */
export interface TunnelReport extends PumpResult {
  peerIdentity: string;
  authority: string;
  connection: ConnectionAddresses;
}

/** One finished TLS connection (client or server side). Bytes are TLS bytes on the wire. */
export interface ConnectionReport {
  side: 'server' | 'client';
  /** The peer's SPIFFE identity, once verified. */
  peerIdentity: string | undefined;
  connection: ConnectionAddresses;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  /** CONNECT streams carried. */
  streams: number;
  /** Why it ended, when it ended badly (handshake, identity, protocol, ping timeout…). */
  error: HboneError | Error | undefined;
}

/** One open server connection as admin endpoints show it. */
export interface ServerConnectionSnapshot {
  /** Empty until the handshake verified the peer. */
  peerIdentity: string;
  connection: ConnectionAddresses;
  ageMs: number;
  /** CONNECT streams carried so far. */
  streams: number;
  /** Streams open right now. */
  activeStreams: number;
  handshaking: boolean;
}

export interface HboneServerOptions {
  credentials: HboneCredentials;
  handler: ConnectHandler;
  /** Ports a CONNECT may never target (loop guard). Default 15001, 15006, 15008. */
  illegalPorts?: readonly number[];
  /** TLS + first HTTP/2 SETTINGS must complete within this (default 10 s). */
  handshakeTimeoutMs?: number;
  /** HTTP/2 PING interval / timeout (default 10 s / 20 s; 0 disables). */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  /** Default 200. */
  maxConcurrentStreams?: number;
  /** Default 4 MiB per stream, 16 MiB per connection. */
  streamWindow?: number;
  connectionWindow?: number;
  /** Default 64 KiB. */
  maxHeaderListSize?: number;
  /** Streams the peer may reset before we answered, per second, before the connection is closed (default 100). */
  maxEarlyResetsPerSecond?: number;
  /** Accept `host:port` authorities as well as IPs (waypoints, double HBONE). */
  allowHostnameAuthority?: boolean;
  /**
   * ztunnel's rule for pod listeners: the authority's IP must be the address the connection arrived on
   * (400 otherwise). Off by default: waypoints and gateways receive Service VIPs.
   */
  requireAuthorityIsLocal?: boolean;
  logger?: Logger;
  onTunnelClosed?: (report: TunnelReport) => void;
  onConnectionClosed?: (report: ConnectionReport) => void;
}

export interface HboneServer {
  /** Serve one accepted TCP socket (e.g. from a listener made inside a pod's netns). */
  handleConnection(socket: Socket): void;
  /** Listen on a port or an inherited listening fd; resolves with the bound address. */
  listen(options: { port: number; host?: string } | { fd: number }): Promise<AddressInfo | undefined>;
  /** TLS connections currently open (handshaking or serving). */
  readonly connectionCount: number;
  /** The open connections, for admin endpoints (config_dump, per-connection views). */
  snapshot(): ServerConnectionSnapshot[];
  /** Stop accepting, send GOAWAY, let streams finish; force-close what is left after `deadlineMs`. */
  drain(deadlineMs?: number): Promise<void>;
  /** Close everything now. */
  close(): Promise<void>;
}
