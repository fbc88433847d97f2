import {
  createServer as createH2Server,
  type Http2Server,
  constants as h2,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import { type AddressInfo, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { type Logger, silentLogger } from '@weft/telemetry';
import { inTrustDomains, spiffeIdsOf } from './credentials.js';
import { HboneError, HboneErrorCode } from './errors.js';
import { PingKeepalive } from './keepalive.js';
import { tuneSocket } from './pump.js';
import { handleConnectStream } from './server-stream.js';
import type {
  ConnectionAddresses,
  HboneServer,
  HboneServerOptions,
  ServerConnectionSnapshot,
  TunnelReport,
} from './server-types.js';
import {
  CONNECTION_WINDOW,
  DEFAULT_ILLEGAL_PORTS,
  HANDSHAKE_TIMEOUT_MS,
  KEEPALIVE_IDLE_MS,
  MAX_FRAME_SIZE,
  PING_INTERVAL_MS,
  PING_TIMEOUT_MS,
  SERVER_MAX_CONCURRENT_STREAMS,
  SERVER_MAX_HEADER_LIST,
  STREAM_WINDOW,
} from './settings.js';

/** Per TLS connection state (one object per connection; nothing per stream or chunk besides Node's own). */
export interface ServerConnection {
  readonly raw: Socket;
  tls: TLSSocket | undefined;
  session: ServerHttp2Session | undefined;
  peerIdentity: string;
  peerIdentities: readonly string[];
  readonly addresses: ConnectionAddresses;
  readonly started: number;
  streams: number;
  activeStreams: number;
  error: Error | undefined;
  handshakeTimer: NodeJS.Timeout | undefined;
  earlyResets: number;
  earlyResetWindowStart: number;
  reported: boolean;
  failed: boolean;
  /** Every stream's 'close' listener on this connection (one function per connection, not per stream). */
  readonly onStreamClose: () => void;
}

/** Error listener for streams we close ourselves (an unlistened 'error' would crash the process). */
function ignore(): void {}

/** Reads the chain-verification result OpenSSL recorded during the handshake (null when trusted). */
function verifyError(socket: TLSSocket): Error | null {
  // Node verifies the chain but leaves the decision to JS; tls.Server does this same call internally.
  const handle = (socket as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
  if (handle?.verifyError === undefined) return new Error('TLS handle gone');
  return handle.verifyError();
}

export class HboneServerImpl implements HboneServer {
  readonly options: HboneServerOptions;
  readonly log: Logger;
  readonly illegalPorts: ReadonlySet<number>;
  readonly maxEarlyResets: number;
  readonly #h2: Http2Server;
  readonly #connections = new Set<ServerConnection>();
  readonly #keepalive: PingKeepalive;
  readonly #listeners: Server[] = [];
  #pending: ServerConnection | undefined;
  #draining = false;
  #closedWaiters: (() => void)[] = [];

  constructor(options: HboneServerOptions) {
    this.options = options;
    this.log = (options.logger ?? silentLogger()).child({ component: 'hbone-server' });
    this.illegalPorts = new Set(options.illegalPorts ?? DEFAULT_ILLEGAL_PORTS);
    this.maxEarlyResets = options.maxEarlyResetsPerSecond ?? 100;
    this.#keepalive = new PingKeepalive(
      options.pingIntervalMs ?? PING_INTERVAL_MS,
      options.pingTimeoutMs ?? PING_TIMEOUT_MS,
    );
    this.#h2 = createH2Server({
      settings: {
        initialWindowSize: options.streamWindow ?? STREAM_WINDOW,
        maxConcurrentStreams: options.maxConcurrentStreams ?? SERVER_MAX_CONCURRENT_STREAMS,
        maxHeaderListSize: options.maxHeaderListSize ?? SERVER_MAX_HEADER_LIST,
        maxFrameSize: MAX_FRAME_SIZE,
        enablePush: false,
        enableConnectProtocol: false,
      },
      maxHeaderListPairs: 128,
      maxSessionInvalidFrames: 100,
      maxSessionRejectedStreams: 100,
      // Headers count toward this too; a flood of HEADERS makes nghttp2 refuse instead of buffering.
      maxSessionMemory: 64,
    });
    this.#h2.on('session', (session: ServerHttp2Session) => this.#onSession(session));
    this.#h2.on('stream', (stream: ServerHttp2Stream, headers) => {
      const conn = (stream.session as unknown as { [CONN]?: ServerConnection } | undefined)?.[CONN];
      if (conn === undefined || conn.failed) {
        // (A connection being closed for abuse gets no more work: the rest of a rapid-reset burst lands here.)
        stream.on('error', ignore);
        stream.close(conn === undefined ? h2.NGHTTP2_INTERNAL_ERROR : h2.NGHTTP2_REFUSED_STREAM);
        return;
      }
      conn.streams++;
      conn.activeStreams++;
      stream.on('close', conn.onStreamClose);
      handleConnectStream(this, conn, stream, headers);
    });
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  snapshot(): ServerConnectionSnapshot[] {
    const now = performance.now();
    return [...this.#connections].map((c) => ({
      peerIdentity: c.peerIdentity,
      connection: c.addresses,
      ageMs: Math.round(now - c.started),
      streams: c.streams,
      activeStreams: c.activeStreams,
      handshaking: c.session === undefined,
    }));
  }

  handleConnection(raw: Socket): void {
    if (this.#draining) {
      raw.destroy();
      return;
    }
    tuneSocket(raw, KEEPALIVE_IDLE_MS);
    const conn: ServerConnection = {
      raw,
      tls: undefined,
      session: undefined,
      peerIdentity: '',
      peerIdentities: [],
      addresses: {
        localAddress: raw.localAddress ?? '',
        localPort: raw.localPort ?? 0,
        remoteAddress: raw.remoteAddress ?? '',
        remotePort: raw.remotePort ?? 0,
      },
      started: performance.now(),
      streams: 0,
      activeStreams: 0,
      error: undefined,
      handshakeTimer: undefined,
      earlyResets: 0,
      earlyResetWindowStart: 0,
      reported: false,
      failed: false,
      onStreamClose: () => {
        conn.activeStreams--;
      },
    };
    this.#connections.add(conn);
    raw.once('close', () => this.#onRawClose(conn));
    raw.on('error', (err) => {
      conn.error ??= err;
    });
    conn.handshakeTimer = setTimeout(() => {
      this.fail(
        conn,
        new HboneError(
          HboneErrorCode.HandshakeTimeout,
          `TLS/HTTP2 handshake from ${conn.addresses.remoteAddress} did not finish in ${this.options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS} ms`,
        ),
      );
    }, this.options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
    let tls: TLSSocket;
    try {
      tls = new TLSSocket(raw, {
        isServer: true,
        secureContext: this.options.credentials.secureContext(),
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: ['h2'],
      });
    } catch (err) {
      this.fail(conn, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    conn.tls = tls;
    tls.on('error', (err) => {
      conn.error ??= err;
      raw.destroy();
    });
    tls.once('secure', () => this.#onSecure(conn, tls));
  }

  /** Close a connection because of `err` (reported once, at close). */
  fail(conn: ServerConnection, err: Error): void {
    if (conn.failed) return;
    conn.failed = true;
    conn.error ??= err;
    this.log.debug(
      { err: err.message, code: (err as HboneError).code, remote: conn.addresses.remoteAddress },
      'HBONE connection refused',
    );
    if (conn.session !== undefined && !conn.session.destroyed) {
      const code =
        err instanceof HboneError && err.code === HboneErrorCode.Protocol
          ? h2.NGHTTP2_ENHANCE_YOUR_CALM
          : h2.NGHTTP2_NO_ERROR;
      const session = conn.session;
      session.goaway(code);
      // Give the GOAWAY a turn to be written before the socket goes.
      setImmediate(() => session.destroy());
      return;
    }
    conn.tls?.destroy();
    conn.raw.destroy();
  }

  #onSecure(conn: ServerConnection, tls: TLSSocket): void {
    const chainError = verifyError(tls);
    if (chainError !== null) {
      this.fail(
        conn,
        new HboneError(
          HboneErrorCode.PeerUntrusted,
          `client certificate not trusted: ${chainError.message}`,
          {
            cause: chainError,
          },
        ),
      );
      return;
    }
    if (tls.alpnProtocol !== 'h2' || tls.getProtocol() !== 'TLSv1.3') {
      this.fail(
        conn,
        new HboneError(
          HboneErrorCode.NotH2,
          `client negotiated ${tls.getProtocol()} with ALPN ${String(tls.alpnProtocol)}; HBONE needs TLSv1.3 and h2`,
        ),
      );
      return;
    }
    const ids = spiffeIdsOf(tls.getPeerCertificate());
    const domains = this.options.credentials.trustDomains();
    if (ids.length === 0 || !inTrustDomains(ids, domains)) {
      this.fail(
        conn,
        new HboneError(
          HboneErrorCode.PeerIdentity,
          `client identity ${ids.join(',') || '(no SPIFFE URI SAN)'} is not in trust domain ${domains.join(' or ')}`,
        ),
      );
      return;
    }
    conn.peerIdentities = ids;
    conn.peerIdentity = ids[0] ?? '';
    // tls.Server clears this flag when it accepts a client; HTTP/2 waits on it before sending SETTINGS.
    (tls as unknown as { secureConnecting: boolean }).secureConnecting = false;
    tls.authorized = true;
    this.#pending = conn;
    try {
      this.#h2.emit('connection', tls);
    } finally {
      this.#pending = undefined;
    }
  }

  #onSession(session: ServerHttp2Session): void {
    const conn = this.#pending;
    if (conn === undefined) {
      session.destroy();
      return;
    }
    conn.session = session;
    (session as unknown as { [CONN]?: ServerConnection })[CONN] = conn;
    session.once('remoteSettings', () => {
      if (conn.handshakeTimer !== undefined) clearTimeout(conn.handshakeTimer);
      conn.handshakeTimer = undefined;
    });
    session.once('connect', () => {
      try {
        session.setLocalWindowSize(this.options.connectionWindow ?? CONNECTION_WINDOW);
      } catch {
        // The session is already closing.
      }
    });
    session.on('error', (err) => {
      conn.error ??= err;
    });
    session.on('frameError', () => {
      // nghttp2 already answered; the session 'error'/'close' follows.
    });
    session.once('close', () => {
      this.#keepalive.delete(session);
      conn.raw.destroy();
    });
    this.#keepalive.add(session);
    // HTTP/2 reads the socket natively; flowing mode lets the JS side still see EOF and close.
    conn.tls?.resume();
    conn.tls?.once('close', () => {
      if (!session.destroyed) session.destroy();
    });
    if (this.#draining) session.close();
  }

  #onRawClose(conn: ServerConnection): void {
    if (conn.handshakeTimer !== undefined) clearTimeout(conn.handshakeTimer);
    conn.handshakeTimer = undefined;
    if (conn.session !== undefined && !conn.session.destroyed) conn.session.destroy();
    this.#connections.delete(conn);
    if (!conn.reported) {
      conn.reported = true;
      this.options.onConnectionClosed?.({
        side: 'server',
        peerIdentity: conn.peerIdentity || undefined,
        connection: conn.addresses,
        bytesReceived: conn.raw.bytesRead,
        bytesSent: conn.raw.bytesWritten,
        durationMs: performance.now() - conn.started,
        streams: conn.streams,
        error: conn.error,
      });
    }
    if (this.#connections.size === 0 && this.#closedWaiters.length > 0) {
      const waiters = this.#closedWaiters;
      this.#closedWaiters = [];
      for (const w of waiters) w();
    }
  }

  reportTunnel(report: TunnelReport): void {
    this.options.onTunnelClosed?.(report);
  }

  get draining(): boolean {
    return this.#draining;
  }

  async listen(options: { port: number; host?: string } | { fd: number }): Promise<AddressInfo | undefined> {
    const server = createNetServer(
      { noDelay: true, keepAlive: true, keepAliveInitialDelay: KEEPALIVE_IDLE_MS },
      (s) => this.handleConnection(s),
    );
    this.#listeners.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const done = (): void => {
        server.off('error', reject);
        resolve();
      };
      if ('fd' in options) server.listen({ fd: options.fd }, done);
      else server.listen({ port: options.port, host: options.host ?? '0.0.0.0' }, done);
    });
    const address = server.address();
    return typeof address === 'object' && address !== null ? address : undefined;
  }

  #closeListeners(): Promise<void> {
    const listeners = this.#listeners.splice(0);
    return Promise.all(listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve())))).then(
      () => undefined,
    );
  }

  #allClosed(): Promise<void> {
    if (this.#connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#closedWaiters.push(resolve));
  }

  async drain(deadlineMs = 5_000): Promise<void> {
    this.#draining = true;
    const listenersClosed = this.#closeListeners();
    for (const conn of this.#connections) {
      if (conn.session === undefined) {
        // Still handshaking: nothing to drain. (The TLS socket owns the fd once it wraps the raw one.)
        conn.tls?.destroy();
        conn.raw.destroy();
      } else if (!conn.session.closed) conn.session.close();
    }
    const timer = setTimeout(() => {
      for (const conn of this.#connections) {
        conn.session?.destroy();
        conn.tls?.destroy();
        conn.raw.destroy();
      }
    }, deadlineMs);
    await this.#allClosed();
    clearTimeout(timer);
    await listenersClosed;
    this.#keepalive.stop();
  }

  async close(): Promise<void> {
    await this.drain(0);
  }
}

/** Where a session's connection state hangs (a symbol, so it never collides with Node's fields). */
const CONN = Symbol('weft.hbone.connection');

/** An HBONE server: verify mTLS peers, hand each CONNECT to `options.handler`, pump the tunnel. */
export function createHboneServer(options: HboneServerOptions): HboneServer {
  return new HboneServerImpl(options);
}
