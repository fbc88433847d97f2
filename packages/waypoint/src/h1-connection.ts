/**
 * One keep-alive HTTP/1.1 connection to an endpoint over any Duplex the connector gives (TCP, an HBONE
 * stream, TLS): the request head goes out as one string, the body as it comes (Content-Length passed
 * through, or chunked), and the response is parsed by ResponseParser and handed to the exchange that owns
 * the connection. Listeners are attached once per connection, never per request or per chunk.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { ResponseParser, type ResponseSink } from './h1-response-parser.js';

/** The request currently using a connection. */
export interface UpstreamExchange {
  onResponseHead(status: number, reason: string, headers: IncomingHttpHeaders): void;
  /** False asks the connection to stop reading until resumeResponse(). */
  onResponseData(chunk: Buffer): boolean;
  onResponseEnd(): void;
  /**
   * The connection failed before the response was complete. `stale`: it was a reused keep-alive connection
   * and nothing of the response had arrived (the upstream had closed it), so a bodiless idempotent request
   * may be resent once on another connection.
   */
  onUpstreamError(err: Error, stale: boolean): void;
  /** The connection's write buffer drained (request body backpressure). */
  onUpstreamDrain(): void;
  /** One read from the connection was processed (uncork the downstream now). */
  onUpstreamReadDone(): void;
}

/** Where a connection goes back to when its exchange is done. */
export interface ConnectionOwner {
  release(conn: H1Connection): void;
  remove(conn: H1Connection): void;
}

const CHUNK_END = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';

export class H1Connection implements ResponseSink {
  readonly stream: Duplex;
  readonly #owner: ConnectionOwner;
  readonly #parser: ResponseParser;
  #ex: UpstreamExchange | undefined;
  /** Served at least one request before the current one. */
  #reused = false;
  #uses = 0;
  #requestDone = true;
  #responseDone = true;
  #keepAlive = true;
  #received = false;
  #error: Error | undefined;
  #gone = false;
  /** Date.now() when it went idle (for the pool's idle sweep). */
  idleSince = 0;

  constructor(stream: Duplex, owner: ConnectionOwner, maxHeadBytes: number) {
    this.stream = stream;
    this.#owner = owner;
    this.#parser = new ResponseParser(this, maxHeadBytes);
    stream.on('data', this.#onData);
    stream.on('drain', this.#onDrain);
    stream.on('end', this.#onEnd);
    stream.on('error', this.#onError);
    stream.on('close', this.#onClose);
  }

  get usable(): boolean {
    return !this.#gone && !this.stream.destroyed && this.stream.writable;
  }

  get reused(): boolean {
    return this.#reused;
  }

  /**
   * Starts a request: `head` is the request line and header block (ending in an empty line). With
   * `bodyFollows` false the request is complete; otherwise write the body with writeBody/endBody.
   */
  send(ex: UpstreamExchange, head: string, headRequest: boolean, bodyFollows: boolean): void {
    this.#ex = ex;
    this.#reused = this.#uses > 0;
    this.#uses++;
    this.#requestDone = !bodyFollows;
    this.#responseDone = false;
    this.#keepAlive = true;
    this.#received = false;
    this.#parser.expect(headRequest);
    if (bodyFollows) this.stream.cork();
    this.stream.write(head, 'latin1');
  }

  /** Writes body bytes (chunk-encoded when `chunked`); false means wait for onUpstreamDrain. */
  writeBody(ex: UpstreamExchange, chunk: Buffer, chunked: boolean): boolean {
    if (this.#ex !== ex || this.#requestDone) return true;
    const s = this.stream;
    let ok: boolean;
    if (chunked) {
      if (chunk.length === 0) return true;
      if (s.writableCorked === 0) s.cork();
      s.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      s.write(chunk);
      ok = s.write(CHUNK_END, 'latin1');
    } else ok = s.write(chunk);
    while (s.writableCorked > 0) s.uncork();
    return ok;
  }

  /** The request body is complete. */
  endBody(ex: UpstreamExchange, chunked: boolean): void {
    if (this.#ex !== ex || this.#requestDone) return;
    this.#requestDone = true;
    const s = this.stream;
    if (chunked) s.write(LAST_CHUNK, 'latin1');
    while (s.writableCorked > 0) s.uncork();
    if (this.#responseDone) this.#done();
  }

  pauseResponse(): void {
    this.stream.pause();
  }

  resumeResponse(ex: UpstreamExchange): void {
    if (this.#ex === ex) this.stream.resume();
  }

  /** The exchange gives up (downstream gone, timeout): the connection cannot be reused. */
  abort(ex: UpstreamExchange): void {
    if (this.#ex !== ex) return;
    this.#ex = undefined;
    this.#retire();
  }

  /** Returns an unused connection (its request was cancelled before it was sent). */
  giveBack(): void {
    if (this.#ex !== undefined) return;
    this.idleSince = Date.now();
    if (this.usable) this.#owner.release(this);
    else this.#retire();
  }

  /** Closes an idle connection (idle timeout, pool shutdown). */
  close(): void {
    this.#ex = undefined;
    this.#retire();
  }

  onResponseHead(status: number, reason: string, headers: IncomingHttpHeaders, keepAlive: boolean): void {
    this.#received = true;
    this.#keepAlive = keepAlive;
    this.#ex?.onResponseHead(status, reason, headers);
  }

  onResponseData(chunk: Buffer): void {
    const ex = this.#ex;
    if (ex !== undefined && !ex.onResponseData(chunk)) this.stream.pause();
  }

  onResponseEnd(keepAlive: boolean): void {
    this.#keepAlive = keepAlive;
    this.#responseDone = true;
    const ex = this.#ex;
    if (!this.#requestDone) {
      // Answered before the whole request body was sent: the connection's framing is lost.
      this.#keepAlive = false;
      this.#requestDone = true;
    }
    this.#done();
    ex?.onResponseEnd();
  }

  #done(): void {
    this.#ex = undefined;
    // The exchange may have paused reading (backpressure) just before the response's last bytes: a pooled
    // connection must be reading again, or the next response on it is never seen.
    if (this.stream.isPaused()) this.stream.resume();
    if (this.#keepAlive && this.usable) {
      this.idleSince = Date.now();
      this.#owner.release(this);
    } else this.#retire();
  }

  #retire(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#owner.remove(this);
    this.stream.destroy();
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#ex === undefined && !this.#parser.busy) {
      // Bytes from an idle connection: nothing asked for them.
      this.#retire();
      return;
    }
    this.#received = true;
    try {
      this.#parser.execute(chunk);
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    this.#ex?.onUpstreamReadDone();
  };

  readonly #onDrain = (): void => {
    this.#ex?.onUpstreamDrain();
  };

  readonly #onEnd = (): void => {
    if (this.#parser.busy && this.#ex !== undefined && this.#parser.finish()) {
      this.#ex = undefined;
      this.#retire();
      return;
    }
    this.#fail(new Error('upstream closed the connection'));
  };

  readonly #onError = (err: Error): void => {
    this.#error ??= err;
    this.#fail(err);
  };

  readonly #onClose = (): void => {
    this.#fail(this.#error ?? new Error('upstream connection closed'));
  };

  #fail(err: Error): void {
    const ex = this.#ex;
    this.#ex = undefined;
    this.#retire();
    if (ex !== undefined && !this.#responseDone) {
      this.#responseDone = true;
      ex.onUpstreamError(err, this.#reused && !this.#received);
    }
  }
}
