import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { type Logger, silentLogger } from '@weft/telemetry';
import { errorMessage } from '@weft/telemetry/errors';
import { establish, type NextHop, type SocketFactory } from './client-connection.js';
import { connectHeaders, type TunnelHeaderInput } from './connect-request.js';
import { awaitConnectResponse } from './connect-response.js';
import type { HboneCredentials } from './credentials.js';
import { HboneError, HboneErrorCode } from './errors.js';
import { PingKeepalive } from './keepalive.js';
import type { ConnectionReport } from './server-types.js';
import {
  CONNECT_TIMEOUT_MS,
  CONNECTION_WINDOW,
  HANDSHAKE_TIMEOUT_MS,
  PING_INTERVAL_MS,
  PING_TIMEOUT_MS,
  POOL_IDLE_TIMEOUT_MS,
  POOL_MAX_STREAMS_PER_CONNECTION,
  STREAM_WINDOW,
} from './settings.js';

export interface TunnelRequest extends TunnelHeaderInput {
  /** Where the TCP connection goes: the destination's ip:15008 or a waypoint. */
  nextHop: NextHop;
  /** :authority, the final destination ip:port. */
  authority: string;
  /** The server must present one of these SPIFFE IDs (empty: any identity in our trust domains). */
  expectedIdentities: readonly string[];
  /** Whose certificate to use; defaults to the pool's. */
  credentials?: HboneCredentials;
  signal?: AbortSignal;
}

/** An open tunnel: `stream` carries the payload both ways (end() = half-close). */
export interface HboneTunnel {
  stream: ClientHttp2Stream;
  status: number;
  headers: IncomingHttpHeaders;
  /** The verified SPIFFE ID of the server. */
  peerIdentity: string;
  /** True when the tunnel rode on an already-open connection. */
  reused: boolean;
}

export interface HbonePoolOptions {
  /** Default credentials for requests that bring none. */
  credentials?: HboneCredentials;
  /** How the TCP socket is made (default net.connect with noDelay + keepalive). */
  connect?: SocketFactory;
  /** Default 100 (also capped by the server's SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxStreamsPerConnection?: number;
  /** Connections with no stream for this long are closed (default 5 min). */
  idleTimeoutMs?: number;
  /** TCP connect timeout (default 10 s). */
  connectTimeoutMs?: number;
  /** TLS + HTTP/2 SETTINGS timeout after TCP connect (default 10 s). */
  handshakeTimeoutMs?: number;
  /** How long to wait for the CONNECT response (default 15 s). */
  responseTimeoutMs?: number;
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  streamWindow?: number;
  connectionWindow?: number;
  logger?: Logger;
  onConnectionClosed?: (report: ConnectionReport) => void;
}

export interface HbonePoolStats {
  connections: number;
  activeStreams: number;
  /** Connections ever established (handshakes done). */
  handshakes: number;
}

export interface HbonePool {
  open(request: TunnelRequest): Promise<HboneTunnel>;
  stats(): HbonePoolStats;
  /** Let open tunnels finish (up to `deadlineMs`), then close; no new tunnels meanwhile. */
  drain(deadlineMs?: number): Promise<void>;
  close(): Promise<void>;
}

interface PooledConnection {
  readonly key: string;
  readonly raw: Socket;
  readonly tls: TLSSocket;
  readonly session: ClientHttp2Session;
  readonly peerIdentity: string;
  readonly started: number;
  active: number;
  streams: number;
  usable: boolean;
  idleTimer: NodeJS.Timeout | undefined;
  error: Error | undefined;
  /** Every stream's 'close' listener on this connection (one function per connection, not per stream). */
  onStreamClose: () => void;
}

interface Pending {
  promise: Promise<PooledConnection>;
  waiters: number;
}

interface Entry {
  conns: PooledConnection[];
  pending: Pending | undefined;
}

/** The pool key, as ztunnel's: source identity, expected identities, next hop, source IP. */
function poolKey(identity: string, request: TunnelRequest): string {
  const expected = [...request.expectedIdentities].sort().join(',');
  return `${identity}|${expected}|${request.nextHop.host}:${request.nextHop.port}|${request.nextHop.sourceIp ?? ''}`;
}

class Pool implements HbonePool {
  readonly #o: HbonePoolOptions;
  readonly #log: Logger;
  readonly #entries = new Map<string, Entry>();
  readonly #all = new Set<PooledConnection>();
  readonly #keepalive: PingKeepalive;
  readonly #maxStreams: number;
  #handshakes = 0;
  #closed = false;
  #closeWaiters: (() => void)[] = [];

  constructor(options: HbonePoolOptions) {
    this.#o = options;
    this.#log = (options.logger ?? silentLogger()).child({ component: 'hbone-pool' });
    this.#maxStreams = options.maxStreamsPerConnection ?? POOL_MAX_STREAMS_PER_CONNECTION;
    this.#keepalive = new PingKeepalive(
      options.pingIntervalMs ?? PING_INTERVAL_MS,
      options.pingTimeoutMs ?? PING_TIMEOUT_MS,
    );
  }

  stats(): HbonePoolStats {
    let activeStreams = 0;
    for (const c of this.#all) activeStreams += c.active;
    return { connections: this.#all.size, activeStreams, handshakes: this.#handshakes };
  }

  #limit(c: PooledConnection): number {
    const peer = c.session.remoteSettings.maxConcurrentStreams;
    return peer === undefined ? this.#maxStreams : Math.min(this.#maxStreams, peer);
  }

  #reserve(c: PooledConnection): boolean {
    if (!c.usable || c.session.closed || c.session.destroyed || c.active >= this.#limit(c)) return false;
    c.active++;
    if (c.idleTimer !== undefined) clearTimeout(c.idleTimer);
    c.idleTimer = undefined;
    return true;
  }

  #release(c: PooledConnection): void {
    c.active--;
    if (c.active === 0 && c.usable && !c.session.closed) {
      const idleMs = this.#o.idleTimeoutMs ?? POOL_IDLE_TIMEOUT_MS;
      c.idleTimer = setTimeout(() => this.#retire(c, true), idleMs);
      c.idleTimer.unref();
    }
  }

  /** Stop handing out `c`; close it now (idle) or once its streams end (graceful). */
  #retire(c: PooledConnection, closeNow: boolean): void {
    c.usable = false;
    const entry = this.#entries.get(c.key);
    if (entry !== undefined) {
      const i = entry.conns.indexOf(c);
      if (i !== -1) entry.conns.splice(i, 1);
      if (entry.conns.length === 0 && entry.pending === undefined) this.#entries.delete(c.key);
    }
    if (closeNow) c.session.destroy();
    else if (!c.session.closed) c.session.close();
  }

  async #acquire(
    key: string,
    request: TunnelRequest,
    credentials: HboneCredentials,
  ): Promise<[PooledConnection, boolean]> {
    for (;;) {
      if (this.#closed) throw new HboneError(HboneErrorCode.PoolClosed, 'the HBONE pool is closed');
      let entry = this.#entries.get(key);
      if (entry === undefined) {
        entry = { conns: [], pending: undefined };
        this.#entries.set(key, entry);
      }
      for (const c of entry.conns) if (this.#reserve(c)) return [c, true];
      // Concurrent first requests share one handshake, up to one connection's worth of streams.
      let pending = entry.pending;
      if (pending === undefined || pending.waiters >= this.#maxStreams) {
        pending = this.#startConnection(key, entry, request, credentials);
      }
      pending.waiters++;
      const c = await pending.promise;
      if (this.#reserve(c)) return [c, false];
    }
  }

  #startConnection(
    key: string,
    entry: Entry,
    request: TunnelRequest,
    credentials: HboneCredentials,
  ): Pending {
    const promise = establish({
      nextHop: request.nextHop,
      credentials,
      expectedIdentities: request.expectedIdentities,
      connect: this.#o.connect,
      connectTimeoutMs: this.#o.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      handshakeTimeoutMs: this.#o.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
      streamWindow: this.#o.streamWindow ?? STREAM_WINDOW,
      connectionWindow: this.#o.connectionWindow ?? CONNECTION_WINDOW,
    }).then((est) => {
      const c: PooledConnection = {
        key,
        ...est,
        active: 0,
        streams: 0,
        usable: !this.#closed,
        idleTimer: undefined,
        error: undefined,
        onStreamClose: () => this.#release(c),
      };
      this.#handshakes++;
      this.#adopt(c);
      return c;
    });
    const pending: Pending = { promise, waiters: 0 };
    entry.pending = pending;
    const clear = (): void => {
      if (entry.pending === pending) entry.pending = undefined;
    };
    promise.then(clear, (err: unknown) => {
      clear();
      if (entry.conns.length === 0 && this.#entries.get(key) === entry) this.#entries.delete(key);
      this.#log.debug({ err: errorMessage(err), nextHop: request.nextHop }, 'HBONE connection failed');
    });
    return pending;
  }

  #adopt(c: PooledConnection): void {
    this.#all.add(c);
    const entry = this.#entries.get(c.key);
    if (c.usable && entry !== undefined) entry.conns.push(c);
    const s = c.session;
    s.on('error', (err) => {
      c.error ??= err;
    });
    // Node's session does not always notice its socket closing (e.g. after GOAWAY): end it ourselves.
    c.tls.once('close', () => {
      if (!s.destroyed) s.destroy();
    });
    // A connection that received GOAWAY takes no new streams; its open streams carry on.
    s.once('goaway', () => this.#retire(c, false));
    s.once('close', () => {
      this.#keepalive.delete(s);
      if (c.idleTimer !== undefined) clearTimeout(c.idleTimer);
      if (c.usable) this.#retire(c, false);
      c.raw.destroy();
      this.#all.delete(c);
      this.#o.onConnectionClosed?.({
        side: 'client',
        peerIdentity: c.peerIdentity,
        connection: {
          localAddress: c.raw.localAddress ?? '',
          localPort: c.raw.localPort ?? 0,
          remoteAddress: c.raw.remoteAddress ?? '',
          remotePort: c.raw.remotePort ?? 0,
        },
        bytesReceived: c.raw.bytesRead,
        bytesSent: c.raw.bytesWritten,
        durationMs: performance.now() - c.started,
        streams: c.streams,
        error: c.error,
      });
      if (this.#all.size === 0) for (const w of this.#closeWaiters.splice(0)) w();
    });
    this.#keepalive.add(s);
    // The pool closed while this handshake was in flight.
    if (this.#closed) s.destroy();
  }

  async open(request: TunnelRequest): Promise<HboneTunnel> {
    const credentials = request.credentials ?? this.#o.credentials;
    if (credentials === undefined) throw new TypeError('HBONE tunnel request without credentials');
    if (request.signal?.aborted) throw new HboneError(HboneErrorCode.Aborted, 'tunnel open aborted');
    const key = poolKey(credentials.identity, request);
    const [c, reused] = await this.#acquire(key, request, credentials);
    let stream: ClientHttp2Stream;
    try {
      stream = c.session.request(connectHeaders(request.authority, request), { endStream: false });
    } catch (err) {
      this.#release(c);
      this.#retire(c, false);
      throw new HboneError(
        HboneErrorCode.StreamReset,
        `could not open a stream to ${request.authority}: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    }
    c.streams++;
    stream.on('close', c.onStreamClose);
    return awaitConnectResponse(stream, request, this.#o.responseTimeoutMs ?? 15_000).then((response) => ({
      stream,
      ...response,
      peerIdentity: c.peerIdentity,
      reused,
    }));
  }

  async drain(deadlineMs = 5_000): Promise<void> {
    this.#closed = true;
    for (const c of [...this.#all]) {
      if (c.active === 0) this.#retire(c, true);
      else this.#retire(c, false);
    }
    if (this.#all.size === 0) {
      this.#keepalive.stop();
      return;
    }
    const timer = setTimeout(() => {
      for (const c of this.#all) c.session.destroy();
    }, deadlineMs);
    await new Promise<void>((resolve) => this.#closeWaiters.push(resolve));
    clearTimeout(timer);
    this.#keepalive.stop();
  }

  close(): Promise<void> {
    return this.drain(0);
  }
}

/** A pool of HBONE client connections; `open()` gives a tunnel on a shared or new connection. */
export function createHbonePool(options: HbonePoolOptions = {}): HbonePool {
  return new Pool(options);
}
