/**
 * HTTP/1.1 on a tunnel stream with Node's own parser (http.Server fed through 'connection'): keep-alive,
 * streaming bodies both ways, 100-continue, Upgrade/WebSocket passthrough, hop-by-hop headers, header
 * size and slow-client limits. Each request is decided (JWT, AuthorizationPolicy), then forwarded to a
 * random healthy endpoint over a pooled keep-alive connection, retrying another endpoint on connect failure.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorMessage } from '@weft/telemetry/errors';
import { Http1Forward, type Http1Record } from './h1-forward.js';
import { bodyKind, upstreamRequestHead } from './h1-request-head.js';
import { upstreamRequestHeaders } from './headers.js';
import {
  endpointLabel,
  endpointsOrAnswer,
  type HttpEngineDeps,
  routeRequest,
  UpstreamMessages,
} from './http-deps.js';
import { decide, type RequestHead, type Verdict } from './pipeline.js';
import type { ConnInfo } from './telemetry.js';

type Exchange = Http1Record;

function headerBytes(req: IncomingMessage): number {
  let n = (req.method?.length ?? 0) + (req.url?.length ?? 0) + 12;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i++) n += (raw[i] as string).length + 2;
  return n;
}

export class Http1Engine {
  readonly #d: HttpEngineDeps;
  readonly #server: Server;
  readonly #conns = new WeakMap<Duplex, ConnInfo>();

  constructor(deps: HttpEngineDeps) {
    this.#d = deps;
    this.#server = createServer({
      maxHeaderSize: deps.limits.maxHeaderBytes,
      headersTimeout: deps.limits.headersTimeoutMs,
      requestTimeout: 0,
      // Node checks the headers timeout on this interval (default 30 s): scale it so slow clients get 408 on time.
      connectionsCheckingInterval: Math.max(
        100,
        Math.min(30_000, Math.floor(deps.limits.headersTimeoutMs / 4)),
      ),
      keepAliveTimeout: deps.limits.keepAliveTimeoutMs,
      noDelay: true,
      requireHostHeader: false,
    });
    this.#server.on('request', (req: IncomingMessage, res: ServerResponse) =>
      this.#onRequest(req, res, false),
    );
    this.#server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) =>
      this.#onRequest(req, res, true),
    );
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#onUpgrade(req, socket, head),
    );
    // The server never listens (connections are handed to it), but Node starts the headers-timeout
    // checker on 'listening'.
    this.#server.emit('listening');
  }

  /** Serve one downstream connection (already sniffed as HTTP/1). */
  handle(stream: Duplex, conn: ConnInfo): void {
    this.#conns.set(stream, conn);
    this.#server.emit('connection', stream);
  }

  close(): void {
    this.#server.closeAllConnections?.();
    this.#server.close();
  }

  #onRequest(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void {
    const conn = this.#conns.get(req.socket);
    if (conn === undefined) {
      res.writeHead(500).end();
      return;
    }
    const ex: Exchange = {
      conn,
      req,
      res,
      start: performance.now(),
      flags: '-',
      reason: undefined,
      endpoint: undefined,
      requestBytes: headerBytes(req),
      responseBytes: 0,
      forward: undefined,
    };
    res.once('close', () => this.#record(ex));
    const head: RequestHead = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      authority: req.headers.host ?? '',
      headers: req.headers,
    };
    let verdict: Verdict | Promise<Verdict>;
    try {
      verdict = decide(this.#d.policies, conn, head);
    } catch (err) {
      this.#internalError(ex, err);
      return;
    }
    if (verdict instanceof Promise) {
      verdict.then(
        (v) => this.#apply(ex, v, expectContinue),
        (err: unknown) => this.#internalError(ex, err),
      );
    } else {
      this.#apply(ex, verdict, expectContinue);
    }
  }

  #internalError(ex: Exchange, err: unknown): void {
    this.#d.logger.error({ err: errorMessage(err) }, 'request decision failed');
    ex.reason = errorMessage(err);
    this.#reply(ex, 500, 'internal error');
  }

  #reply(ex: Exchange, status: number, body: string, extra?: Record<string, string>): void {
    const { res } = ex;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const payload = Buffer.from(body);
    ex.responseBytes += payload.length;
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': payload.length, ...extra });
    res.end(payload);
  }

  #apply(ex: Exchange, v: Verdict, expectContinue: boolean): void {
    if (ex.res.destroyed) return;
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
    const { req } = ex;
    const endpoints = endpointsOrAnswer(
      this.#d,
      ex.conn,
      {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        authority: req.headers.host ?? '',
        headers: req.headers,
      },
      ex,
      (status, body) => this.#reply(ex, status, body),
    );
    if (endpoints === undefined) return;
    const body = bodyKind(req.headers);
    const head = upstreamRequestHead(req.method ?? 'GET', req.url ?? '/', req.headers, v.edits, {
      dropExpect: expectContinue,
      body,
    });
    if (head === undefined) {
      ex.reason = 'a header set by policy is not valid on the wire';
      this.#reply(ex, 500, 'internal error');
      return;
    }
    if (expectContinue) ex.res.writeContinue();
    ex.forward = new Http1Forward(
      this.#d,
      ex,
      (status, text) => this.#reply(ex, status, text),
      endpoints,
      head,
      body,
    );
    ex.forward.start();
  }

  #record(ex: Exchange): void {
    ex.forward?.downstreamClosed();
    const { req, res } = ex;
    this.#d.telemetry.record({
      conn: ex.conn,
      protocol: 'http',
      httpVersion: '1.1',
      method: req.method ?? '',
      path: req.url ?? '',
      authority: req.headers.host ?? '',
      status: res.headersSent ? res.statusCode : 0,
      grpcStatus: undefined,
      flags: ex.flags,
      durationMs: performance.now() - ex.start,
      requestBytes: ex.requestBytes,
      responseBytes: ex.responseBytes,
      upstream: endpointLabel(ex.endpoint),
      upstreamWorkload: ex.endpoint?.workload,
      reason: ex.reason,
      userAgent: req.headers['user-agent'],
      requestId: typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined,
    });
  }

  /** Upgrade (WebSocket…): decide like a request, then pass the bytes through both ways. */
  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const conn = this.#conns.get(socket);
    const fail = (status: number, text: string, body: string): void => {
      if (socket.writable) {
        socket.end(
          `HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
      } else socket.destroy();
    };
    if (conn === undefined) {
      socket.destroy();
      return;
    }
    socket.on('error', () => {});
    const reqHead: RequestHead = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      authority: req.headers.host ?? '',
      headers: req.headers,
    };
    Promise.resolve(decide(this.#d.policies, conn, reqHead))
      .then(async (v) => {
        if (v.kind === 'reject') {
          fail(
            v.status,
            v.status === 401 ? 'Unauthorized' : v.status === 403 ? 'Forbidden' : 'Error',
            v.body,
          );
          return;
        }
        const routed = routeRequest(this.#d, conn, reqHead);
        if ('status' in routed) {
          fail(routed.status, 'Error', routed.body);
          return;
        }
        const ep = routed.endpoints[0];
        if (ep === undefined) {
          fail(503, 'Service Unavailable', UpstreamMessages.NoHealthyUpstream);
          return;
        }
        const upstream = await this.#d.connector.connect(ep);
        const headers = upstreamRequestHeaders(req.headers, v.edits, { upgrade: true });
        let text = `${req.method} ${req.url} HTTP/1.1\r\n`;
        for (const [k, val] of Object.entries(headers)) {
          if (val === undefined) continue;
          for (const one of Array.isArray(val) ? val : [val]) text += `${k}: ${String(one)}\r\n`;
        }
        upstream.write(`${text}\r\n`);
        if (head.length > 0) upstream.write(head);
        upstream.on('error', () => socket.destroy());
        socket.on('close', () => upstream.destroy());
        upstream.on('close', () => socket.destroy());
        socket.pipe(upstream);
        upstream.pipe(socket);
      })
      .catch((err: unknown) => {
        this.#d.logger.debug({ err: errorMessage(err) }, 'upgrade failed');
        fail(503, 'Service Unavailable', UpstreamMessages.ConnectFailure);
      });
  }
}
