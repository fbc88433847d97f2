/**
 * Forwards one decided HTTP/1.1 request to an endpoint over the lean keep-alive pool (h1-pool.ts) and
 * streams the response back into Node's ServerResponse. Keeps the engine's rules: another endpoint on
 * connect failure, one resend of a bodiless idempotent request on a stale pooled connection, 504 (UT) on
 * the request timeout, 503 with Envoy's texts (UF, UC), backpressure both ways, byte counts for metrics.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorMessage } from '@weft/telemetry/errors';
import type { H1Connection, UpstreamExchange } from './h1-connection.js';
import type { BodyKind } from './h1-request-head.js';
import { downstreamResponseHeaders } from './headers.js';
import { type HttpEngineDeps, UpstreamMessages } from './http-deps.js';
import type { Endpoint } from './mesh-view.js';
import type { ConnInfo } from './telemetry.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
// Bodies up to this size go out with the response headers in one write.
const SMALL_BODY = 16 * 1024;

/** What the engine keeps per request (also read by the access log / metrics record). */
export interface Http1Record {
  readonly conn: ConnInfo;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly start: number;
  flags: string;
  reason: string | undefined;
  endpoint: Endpoint | undefined;
  requestBytes: number;
  responseBytes: number;
  forward: Http1Forward | undefined;
}

/** Answers the proxy gives itself (the engine's reply, so both paths format them the same way). */
export type Reply = (status: number, body: string) => void;

export class Http1Forward implements UpstreamExchange {
  readonly #d: HttpEngineDeps;
  readonly #rec: Http1Record;
  readonly #reply: Reply;
  readonly #endpoints: readonly Endpoint[];
  readonly #head: string;
  readonly #body: BodyKind;
  readonly #socket: Duplex | null;
  #conn: H1Connection | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reading = false;
  #staleRetried = false;
  #finished = false;
  #waitingDrain = false;
  /** A small first body chunk held back so that it leaves with the headers in one write. */
  #pending: Buffer | undefined;
  #bodyStarted = false;

  constructor(
    deps: HttpEngineDeps,
    rec: Http1Record,
    reply: Reply,
    endpoints: readonly Endpoint[],
    head: string,
    body: BodyKind,
  ) {
    this.#d = deps;
    this.#rec = rec;
    this.#reply = reply;
    this.#endpoints = endpoints;
    this.#head = head;
    this.#body = body;
    this.#socket = rec.res.socket;
    // Closures only where needed: most requests have no body and no timeout.
    const timeoutMs = deps.limits.requestTimeoutMs;
    if (timeoutMs > 0) this.#timer = setTimeout(() => this.#onTimeout(), timeoutMs);
    if (body === 'none') rec.req.resume();
  }

  start(): void {
    this.#attempt(0);
  }

  #attempt(i: number): void {
    const ep = this.#endpoints[i] as Endpoint;
    this.#rec.endpoint = ep;
    const got = this.#d.clients.pool(ep).acquire();
    if (got instanceof Promise) {
      got.then(
        (conn) => this.#send(conn),
        (err: unknown) => this.#onConnectFailed(i, err),
      );
    } else this.#send(got);
  }

  #onConnectFailed(i: number, err: unknown): void {
    if (this.#finished) return;
    if (i + 1 < Math.min(this.#endpoints.length, this.#d.limits.maxAttempts)) {
      this.#attempt(i + 1);
      return;
    }
    this.#fail('UF', err, UpstreamMessages.ConnectFailure);
  }

  #send(conn: H1Connection): void {
    if (this.#finished) {
      // The client went away (or timed out) while we connected: the connection is still clean.
      conn.giveBack();
      return;
    }
    this.#conn = conn;
    const { req } = this.#rec;
    const bodyFollows = this.#body !== 'none';
    conn.send(this, this.#head, req.method === 'HEAD', bodyFollows);
    if (bodyFollows && !this.#reading) {
      this.#reading = true;
      req.on('data', (chunk: Buffer) => this.#onReqData(chunk));
      req.once('end', () => this.#conn?.endBody(this, this.#body === 'chunked'));
    }
  }

  #onReqData(chunk: Buffer): void {
    this.#rec.requestBytes += chunk.length;
    const conn = this.#conn;
    if (conn !== undefined && !conn.writeBody(this, chunk, this.#body === 'chunked')) this.#rec.req.pause();
  }

  onUpstreamDrain(): void {
    if (this.#reading && !this.#rec.req.readableEnded) this.#rec.req.resume();
  }

  onResponseHead(status: number, reason: string, headers: IncomingHttpHeaders): void {
    const { res } = this.#rec;
    if (res.destroyed) return;
    // Not corked: a small body is held back (#pending) and leaves with the headers as one string write;
    // a larger first chunk is corked with the headers by Node itself.
    const out = downstreamResponseHeaders(headers, false);
    if (reason.length > 0) res.writeHead(status, reason, out);
    else res.writeHead(status, out);
  }

  onResponseData(chunk: Buffer): boolean {
    this.#rec.responseBytes += chunk.length;
    const { res } = this.#rec;
    if (res.destroyed) return true;
    if (!this.#bodyStarted && this.#pending === undefined && chunk.length <= SMALL_BODY) {
      this.#pending = chunk;
      return true;
    }
    this.#bodyStarted = true;
    if (this.#pending !== undefined) {
      res.write(this.#pending);
      this.#pending = undefined;
    }
    return this.#write(chunk);
  }

  #write(chunk: Buffer): boolean {
    const { res } = this.#rec;
    if (res.write(chunk)) return true;
    if (!this.#waitingDrain) {
      this.#waitingDrain = true;
      res.once('drain', () => {
        this.#waitingDrain = false;
        this.#conn?.resumeResponse(this);
      });
    }
    return false;
  }

  onResponseEnd(): void {
    this.#finish();
    const { res } = this.#rec;
    const pending = this.#pending;
    this.#pending = undefined;
    if (!res.destroyed) {
      // A whole small body as one latin1 string: Node sends it with the headers in a single write.
      if (pending !== undefined) res.end(pending.toString('latin1'), 'latin1');
      else res.end();
    }
    this.#uncork();
  }

  onUpstreamReadDone(): void {
    const pending = this.#pending;
    if (pending !== undefined) {
      this.#pending = undefined;
      this.#bodyStarted = true;
      if (!this.#rec.res.destroyed && !this.#write(pending)) this.#conn?.pauseResponse();
    }
    this.#uncork();
  }

  #uncork(): void {
    const socket = this.#socket;
    if (socket !== null && socket.writableCorked > 0 && !socket.destroyed) socket.uncork();
  }

  onUpstreamError(err: Error, stale: boolean): void {
    if (this.#finished) return;
    this.#conn = undefined;
    const { req, res } = this.#rec;
    // A pooled keep-alive connection the upstream had just closed: safe to resend an idempotent request
    // that carried no body, once, on another connection.
    if (
      stale &&
      !this.#staleRetried &&
      this.#body === 'none' &&
      IDEMPOTENT.has(req.method ?? '') &&
      !res.headersSent &&
      !res.destroyed
    ) {
      this.#staleRetried = true;
      this.#attempt(this.#endpoints.indexOf(this.#rec.endpoint as Endpoint));
      return;
    }
    this.#pending = undefined;
    this.#uncork();
    this.#fail('UC', err, UpstreamMessages.Reset);
  }

  #fail(flags: string, err: unknown, text: string): void {
    this.#finish();
    const rec = this.#rec;
    rec.flags = flags;
    rec.reason = errorMessage(err);
    if (rec.res.headersSent) rec.res.destroy();
    else this.#reply(503, text);
  }

  #finish(): void {
    // Answered before the request body was all sent (or given up): drop the rest of the body so that the
    // downstream connection can go on to its next request, even if we had paused it for backpressure.
    if (this.#reading && !this.#rec.req.readableEnded) this.#rec.req.resume();
    this.#finished = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #onTimeout(): void {
    if (this.#finished) return;
    this.#finish();
    this.#rec.flags = 'UT';
    this.#conn?.abort(this);
    this.#conn = undefined;
    this.#pending = undefined;
    this.#reply(504, UpstreamMessages.Timeout);
  }

  /** The downstream response closed (the engine's one 'close' listener calls this before recording). */
  downstreamClosed(): void {
    if (!this.#rec.res.writableFinished) {
      if (this.#rec.flags === '-') this.#rec.flags = 'DC';
      this.#conn?.abort(this);
      this.#conn = undefined;
    }
    this.#finish();
  }
}
