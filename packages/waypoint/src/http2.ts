/**
 * HTTP/2 (prior knowledge) and gRPC on a tunnel stream with Node's http2 server fed through
 * 'connection'. Each stream is decided (JWT, AuthorizationPolicy) and forwarded on a shared HTTP/2
 * session to a random healthy endpoint; bodies stream both ways and gRPC trailers pass through.
 * Denials of gRPC calls are trailers-only responses (HTTP 200, grpc-status 7/16/14).
 */

import { request as httpRequest, type IncomingMessage } from 'node:http';
import {
  type ClientHttp2Stream,
  createServer,
  type Http2Server,
  type Http2Session,
  constants as h2c,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Duplex } from 'node:stream';
import { errorMessage } from '@weft/telemetry/errors';
import { downstreamResponseHeaders, grpcStatusFor, isGrpc, upstreamRequestHeaders } from './headers.js';
import { endpointLabel, endpointsOrAnswer, type HttpEngineDeps, UpstreamMessages } from './http-deps.js';
import type { Endpoint } from './mesh-view.js';
import { decide, type Verdict } from './pipeline.js';
import type { ConnInfo } from './telemetry.js';

interface Exchange {
  readonly conn: ConnInfo;
  readonly stream: ServerHttp2Stream;
  readonly headers: IncomingHttpHeaders;
  readonly grpc: boolean;
  /** The request came with END_STREAM on its HEADERS: no body to forward. */
  readonly bodiless: boolean;
  readonly start: number;
  status: number;
  grpcStatus: string | undefined;
  flags: string;
  reason: string | undefined;
  endpoint: Endpoint | undefined;
  requestBytes: number;
  responseBytes: number;
  upstream: ClientHttp2Stream | undefined;
}

function headerBytes(headers: IncomingHttpHeaders): number {
  let n = 0;
  for (const k in headers) {
    const v = headers[k];
    n += k.length + (typeof v === 'string' ? v.length : Array.isArray(v) ? v.join(',').length : 0);
  }
  return n;
}

export class Http2Engine {
  readonly #d: HttpEngineDeps;
  readonly #server: Http2Server;
  readonly #sessions = new WeakMap<Http2Session, ConnInfo>();
  #pending: ConnInfo | undefined;

  constructor(deps: HttpEngineDeps) {
    this.#d = deps;
    this.#server = createServer({
      maxSessionMemory: 64,
      settings: {
        initialWindowSize: 4 * 1024 * 1024,
        maxConcurrentStreams: 1000,
        maxHeaderListSize: deps.limits.maxHeaderBytes,
      },
      maxHeaderListPairs: 256,
    });
    // The session is created synchronously inside emit('connection'): hand it its connection info.
    this.#server.on('session', (session: Http2Session) => {
      if (this.#pending !== undefined) this.#sessions.set(session, this.#pending);
      session.setLocalWindowSize?.(16 * 1024 * 1024);
      session.on('error', () => {});
    });
    this.#server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) =>
      this.#onStream(stream, headers, (flags & h2c.NGHTTP2_FLAG_END_STREAM) !== 0),
    );
    this.#server.on('sessionError', () => {});
    this.#server.setTimeout(deps.limits.keepAliveTimeoutMs * 5);
  }

  handle(stream: Duplex, conn: ConnInfo): void {
    this.#pending = conn;
    try {
      this.#server.emit('connection', stream);
    } finally {
      this.#pending = undefined;
    }
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, bodiless: boolean): void {
    stream.on('error', () => {});
    const conn = this.#sessions.get(stream.session as Http2Session);
    if (conn === undefined) {
      stream.close(h2c.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    const ex: Exchange = {
      conn,
      stream,
      headers,
      grpc: isGrpc(headers),
      start: performance.now(),
      status: 0,
      grpcStatus: undefined,
      flags: '-',
      reason: undefined,
      endpoint: undefined,
      requestBytes: headerBytes(headers),
      responseBytes: 0,
      upstream: undefined,
      bodiless,
    };
    stream.once('close', () => {
      if (ex.upstream !== undefined && !ex.upstream.closed) {
        if (ex.flags === '-' && ex.status === 0) ex.flags = 'DC';
        ex.upstream.close(h2c.NGHTTP2_CANCEL);
      }
      this.#record(ex);
    });
    let verdict: Verdict | Promise<Verdict>;
    const head = {
      method: String(headers[':method'] ?? 'GET'),
      path: String(headers[':path'] ?? '/'),
      authority: String(headers[':authority'] ?? headers.host ?? ''),
      headers,
    };
    try {
      verdict = decide(this.#d.policies, conn, head);
    } catch (err) {
      this.#reply(ex, 500, errorMessage(err));
      return;
    }
    if (verdict instanceof Promise) {
      verdict.then(
        (v) => this.#apply(ex, v),
        (err: unknown) => this.#reply(ex, 500, errorMessage(err)),
      );
    } else this.#apply(ex, verdict);
  }

  /** The waypoint's own answer: plain text, or for gRPC a trailers-only response. */
  #reply(ex: Exchange, status: number, body: string, extra?: OutgoingHttpHeaders): void {
    const { stream } = ex;
    if (stream.destroyed || stream.closed) return;
    if (stream.headersSent) {
      stream.close(h2c.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    try {
      if (ex.grpc) {
        const code = grpcStatusFor(status);
        ex.status = 200;
        ex.grpcStatus = String(code);
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': code,
            'grpc-message': encodeURIComponent(body),
            ...extra,
          },
          { endStream: true },
        );
        return;
      }
      const payload = Buffer.from(body);
      ex.status = status;
      ex.responseBytes += payload.length;
      stream.respond({
        ':status': status,
        'content-type': 'text/plain',
        'content-length': payload.length,
        ...extra,
      });
      stream.end(payload);
    } catch {
      stream.destroy();
    }
  }

  #apply(ex: Exchange, v: Verdict): void {
    if (ex.stream.destroyed) return;
    if (v.kind === 'reject') {
      ex.reason = v.reason;
      this.#reply(
        ex,
        v.status,
        v.body,
        v.wwwAuthenticate === undefined ? undefined : { 'www-authenticate': v.wwwAuthenticate },
      );
      return;
    }
    const h = ex.headers;
    const endpoints = endpointsOrAnswer(
      this.#d,
      ex.conn,
      {
        method: String(h[':method'] ?? 'GET'),
        path: String(h[':path'] ?? '/'),
        authority: String(h[':authority'] ?? h.host ?? ''),
        headers: h,
      },
      ex,
      (status, body) => this.#reply(ex, status, body),
    );
    if (endpoints === undefined) return;
    // A port declared HTTP/1.1 gets HTTP/1.1 upstream whatever the client spoke (Envoy's `http`);
    // otherwise the upstream speaks the client's protocol.
    if (ex.conn.dest.appProtocol === 'HTTP11' && !ex.grpc) {
      const headers = upstreamRequestHeaders(ex.headers, v.edits);
      if (headers.host === undefined) headers.host = String(ex.headers[':authority'] ?? '');
      this.#attemptH1(ex, endpoints, 0, headers);
      return;
    }
    const headers = upstreamRequestHeaders(ex.headers, v.edits, { h2: true });
    this.#attempt(ex, endpoints, 0, headers);
  }

  /** HTTP/2 downstream, HTTP/1.1 upstream (pooled keep-alive), retrying another endpoint on connect failure. */
  #attemptH1(ex: Exchange, endpoints: readonly Endpoint[], i: number, headers: OutgoingHttpHeaders): void {
    const ep = endpoints[i] as Endpoint;
    ex.endpoint = ep;
    const { stream } = ex;
    const upReq = httpRequest({
      agent: this.#d.clients.agent(ep),
      method: String(ex.headers[':method'] ?? 'GET'),
      path: String(ex.headers[':path'] ?? '/'),
      headers,
      setHost: false,
    });
    let connected = false;
    let complete = false;
    upReq.once('socket', () => {
      connected = true;
      if (ex.bodiless || stream.readableEnded) {
        stream.resume();
        upReq.end();
        return;
      }
      stream.on('data', (c: Buffer) => {
        ex.requestBytes += c.length;
      });
      stream.pipe(upReq);
    });
    upReq.once('response', (upRes: IncomingMessage) => {
      upRes.once('end', () => {
        complete = true;
      });
      if (stream.destroyed || stream.closed) {
        upRes.destroy();
        return;
      }
      ex.status = upRes.statusCode ?? 502;
      try {
        stream.respond({ ...downstreamResponseHeaders(upRes.headers, false), ':status': ex.status });
      } catch {
        upRes.destroy();
        return;
      }
      upRes.on('data', (c: Buffer) => {
        ex.responseBytes += c.length;
      });
      upRes.pipe(stream);
      upRes.once('error', () => stream.close(h2c.NGHTTP2_INTERNAL_ERROR));
    });
    upReq.once('error', (err: Error) => {
      if (!connected && i + 1 < Math.min(endpoints.length, this.#d.limits.maxAttempts) && !stream.destroyed) {
        this.#attemptH1(ex, endpoints, i + 1, headers);
        return;
      }
      ex.flags = connected ? 'UC' : 'UF';
      ex.reason = errorMessage(err);
      this.#reply(ex, 503, connected ? UpstreamMessages.Reset : UpstreamMessages.ConnectFailure);
    });
    stream.once('close', () => {
      if (!complete) upReq.destroy();
    });
  }

  #attempt(ex: Exchange, endpoints: readonly Endpoint[], i: number, headers: OutgoingHttpHeaders): void {
    const ep = endpoints[i] as Endpoint;
    ex.endpoint = ep;
    const retry = (err: unknown, connected: boolean): void => {
      if (
        !connected &&
        i + 1 < Math.min(endpoints.length, this.#d.limits.maxAttempts) &&
        !ex.stream.destroyed
      ) {
        this.#attempt(ex, endpoints, i + 1, headers);
        return;
      }
      ex.flags = connected ? 'UC' : 'UF';
      ex.reason = errorMessage(err);
      this.#reply(ex, 503, connected ? UpstreamMessages.Reset : UpstreamMessages.ConnectFailure);
    };
    this.#d.clients.session(ep).then(
      (session) => {
        if (ex.stream.destroyed || ex.stream.closed) return;
        let up: ClientHttp2Stream;
        try {
          up = session.request(headers, { endStream: ex.bodiless });
        } catch (err) {
          retry(err, false);
          return;
        }
        this.#pipe(ex, up, retry);
      },
      (err: unknown) => retry(err, false),
    );
  }

  #pipe(ex: Exchange, up: ClientHttp2Stream, retry: (err: unknown, connected: boolean) => void): void {
    const { stream } = ex;
    ex.upstream = up;
    let responded = false;
    let trailers: IncomingHttpHeaders | undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = this.#d.limits.requestTimeoutMs;
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        ex.flags = 'UT';
        up.close(h2c.NGHTTP2_CANCEL);
        if (!responded) this.#reply(ex, 504, UpstreamMessages.Timeout);
        else stream.close(h2c.NGHTTP2_CANCEL);
      }, timeoutMs);
    }
    up.on('error', () => {});
    up.once('close', () => {
      if (timer !== undefined) clearTimeout(timer);
      if (ex.flags === 'UT') return;
      if (!responded) {
        // Refused before any processing: safe to try another endpoint.
        retry(
          new Error(`upstream stream closed with code ${up.rstCode}`),
          up.rstCode !== h2c.NGHTTP2_REFUSED_STREAM,
        );
      } else if (up.rstCode !== h2c.NGHTTP2_NO_ERROR && !stream.closed) {
        stream.close(h2c.NGHTTP2_INTERNAL_ERROR);
      }
    });
    if (!ex.bodiless) {
      stream.on('data', (c: Buffer) => {
        ex.requestBytes += c.length;
      });
      stream.pipe(up);
    } else stream.resume();
    up.once('response', (headers: IncomingHttpHeaders, flags: number) => {
      responded = true;
      if (stream.destroyed || stream.closed) return;
      const out = downstreamResponseHeaders(headers, true);
      ex.status = Number(headers[':status'] ?? 0);
      const gs = headers['grpc-status'];
      if (gs !== undefined) ex.grpcStatus = String(gs);
      try {
        if ((flags & h2c.NGHTTP2_FLAG_END_STREAM) !== 0) {
          stream.respond(out, { endStream: true });
          return;
        }
        // Trailers are waited for when they are expected (gRPC, or announced); otherwise the response
        // ends with its last DATA frame, saving an empty HEADERS frame per response.
        const trailersExpected = ex.grpc || headers.trailer !== undefined || isGrpc(headers);
        stream.respond(out, trailersExpected ? { waitForTrailers: true } : {});
      } catch {
        up.close(h2c.NGHTTP2_CANCEL);
        return;
      }
      up.on('data', (c: Buffer) => {
        ex.responseBytes += c.length;
      });
      up.pipe(stream);
    });
    up.on('trailers', (t: IncomingHttpHeaders) => {
      trailers = t;
      const gs = t['grpc-status'];
      if (gs !== undefined) ex.grpcStatus = String(gs);
    });
    stream.on('wantTrailers', () => {
      const out: OutgoingHttpHeaders = {};
      if (trailers !== undefined) for (const k in trailers) if (k.charCodeAt(0) !== 58) out[k] = trailers[k];
      try {
        stream.sendTrailers(out);
      } catch {
        stream.close();
      }
    });
  }

  #record(ex: Exchange): void {
    const h = ex.headers;
    this.#d.telemetry.record({
      conn: ex.conn,
      protocol: ex.grpc ? 'grpc' : 'http',
      httpVersion: '2',
      method: String(h[':method'] ?? ''),
      path: String(h[':path'] ?? ''),
      authority: String(h[':authority'] ?? ''),
      status: ex.status,
      grpcStatus: ex.grpcStatus,
      flags: ex.flags,
      durationMs: performance.now() - ex.start,
      requestBytes: ex.requestBytes,
      responseBytes: ex.responseBytes,
      upstream: endpointLabel(ex.endpoint),
      upstreamWorkload: ex.endpoint?.workload,
      reason: ex.reason,
      userAgent: typeof h['user-agent'] === 'string' ? h['user-agent'] : undefined,
      requestId: typeof h['x-request-id'] === 'string' ? h['x-request-id'] : undefined,
    });
  }
}
