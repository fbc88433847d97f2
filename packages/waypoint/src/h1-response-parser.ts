/**
 * An incremental, strict HTTP/1.1 response parser for the lean upstream client (RFC 9112): status line,
 * header fields, then the body framed by Content-Length, chunked coding or the connection's end; 1xx
 * interim responses are skipped; HEAD, 204 and 304 responses have no body. Body chunks are handed on as
 * views of the input (no copies); chunked bodies are decoded (the downstream side frames them again).
 * Anything ambiguous (Transfer-Encoding with Content-Length, differing Content-Lengths, bad chunk sizes,
 * invalid header names or values, obs-fold, oversized heads) is an error: the connection is not reused.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { WaypointError, WaypointErrorCode } from './errors.js';

/** Receives what the parser finds; one sink per connection (no per-message callbacks). */
export interface ResponseSink {
  onResponseHead(status: number, reason: string, headers: IncomingHttpHeaders, keepAlive: boolean): void;
  /** A view of the input buffer; valid until the sink returns (copy it to keep it longer). */
  onResponseData(chunk: Buffer): void;
  onResponseEnd(keepAlive: boolean): void;
}

enum State {
  Head = 0,
  Length = 1,
  ChunkSize = 2,
  ChunkData = 3,
  ChunkDataEnd = 4,
  Trailers = 5,
  UntilClose = 6,
  Done = 7,
}

const CRLF = Buffer.from('\r\n');
const CRLFCRLF = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, SP and HTAB (no CR, LF, NUL or other controls).
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9][0-9]{2})(?: ([^\r\n]*))?$/;
const MAX_CHUNK_LINE = 4096;

/** A malformed or ambiguous upstream response (the client gets 503 UC; the connection is dropped). */
export class ResponseParseError extends WaypointError {
  constructor(message: string) {
    super(WaypointErrorCode.Upstream, `upstream sent a bad HTTP/1.1 response: ${message}`);
  }
}

export class ResponseParser {
  readonly #sink: ResponseSink;
  readonly #maxHeadBytes: number;
  #state: State = State.Done;
  #pending: Buffer | undefined;
  #remaining = 0;
  #noBody = false;
  #keepAlive = true;

  constructor(sink: ResponseSink, maxHeadBytes: number) {
    this.#sink = sink;
    this.#maxHeadBytes = maxHeadBytes;
  }

  /** Expect the response to the next request (`head`: it was a HEAD request, so no body). */
  expect(head: boolean): void {
    this.#state = State.Head;
    this.#pending = undefined;
    this.#noBody = head;
    this.#keepAlive = true;
  }

  /** True while a message is being read (a close now loses a response, or ends an until-close body). */
  get busy(): boolean {
    return this.#state !== State.Done;
  }

  /** True once the response head was read. */
  get headSeen(): boolean {
    return this.#state !== State.Head && this.#state !== State.Done;
  }

  /** The connection ended: completes an until-close body; false when that cut a message short. */
  finish(): boolean {
    if (this.#state === State.UntilClose) {
      this.#state = State.Done;
      this.#sink.onResponseEnd(false);
      return true;
    }
    return this.#state === State.Done;
  }

  /** Feeds bytes; throws ResponseParseError on a malformed response or bytes after its end. */
  execute(data: Buffer): void {
    let buf = data;
    let pos = 0;
    if (this.#pending !== undefined) {
      buf = Buffer.concat([this.#pending, data]);
      this.#pending = undefined;
    }
    while (pos < buf.length) {
      switch (this.#state) {
        case State.Head: {
          const end = buf.indexOf(CRLFCRLF, pos);
          if (end === -1) {
            if (buf.length - pos > this.#maxHeadBytes)
              throw new ResponseParseError('response head too large');
            this.#pending = buf.subarray(pos);
            return;
          }
          if (end - pos > this.#maxHeadBytes) throw new ResponseParseError('response head too large');
          const head = buf.toString('latin1', pos, end);
          pos = end + 4;
          this.#head(head);
          break;
        }
        case State.Length: {
          const n = Math.min(this.#remaining, buf.length - pos);
          const chunk = buf.subarray(pos, pos + n);
          pos += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = State.Done;
          this.#sink.onResponseData(chunk);
          if (this.#state === State.Done) this.#sink.onResponseEnd(this.#keepAlive);
          break;
        }
        case State.ChunkSize: {
          const end = buf.indexOf(CRLF, pos);
          if (end === -1) {
            if (buf.length - pos > MAX_CHUNK_LINE) throw new ResponseParseError('chunk size line too long');
            this.#pending = buf.subarray(pos);
            return;
          }
          this.#remaining = chunkSize(buf.toString('latin1', pos, end));
          pos = end + 2;
          this.#state = this.#remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.#remaining, buf.length - pos);
          const chunk = buf.subarray(pos, pos + n);
          pos += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = State.ChunkDataEnd;
          this.#sink.onResponseData(chunk);
          break;
        }
        case State.ChunkDataEnd: {
          if (buf.length - pos < 2) {
            this.#pending = buf.subarray(pos);
            return;
          }
          if (buf[pos] !== 13 || buf[pos + 1] !== 10)
            throw new ResponseParseError('chunk not followed by CRLF');
          pos += 2;
          this.#state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          // Trailer fields are read and dropped (as Node's client does when piping); an empty line ends them.
          const end = buf.indexOf(CRLF, pos);
          if (end === -1) {
            if (buf.length - pos > this.#maxHeadBytes) throw new ResponseParseError('trailers too large');
            this.#pending = buf.subarray(pos);
            return;
          }
          const line = end === pos;
          pos = end + 2;
          if (line) {
            this.#state = State.Done;
            this.#sink.onResponseEnd(this.#keepAlive);
          }
          break;
        }
        case State.UntilClose: {
          const chunk = pos === 0 ? buf : buf.subarray(pos);
          pos = buf.length;
          this.#sink.onResponseData(chunk);
          break;
        }
        case State.Done:
          throw new ResponseParseError('bytes after the end of the response');
      }
    }
  }

  #head(text: string): void {
    const lines = text.split('\r\n');
    const m = STATUS_LINE.exec(lines[0] as string);
    if (m === null) throw new ResponseParseError('malformed status line');
    if (m[3] !== undefined && BAD_VALUE.test(m[3])) throw new ResponseParseError('invalid reason phrase');
    const status = Number(m[2]);
    const headers: IncomingHttpHeaders = {};
    let contentLength: string | undefined;
    let te: string | undefined;
    let connection: string | undefined;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new ResponseParseError('malformed header line');
      const name = line.slice(0, colon);
      if (!TOKEN.test(name)) throw new ResponseParseError('invalid header name');
      const value = line.slice(colon + 1).trim();
      if (BAD_VALUE.test(value)) throw new ResponseParseError('invalid header value');
      const lower = name.toLowerCase();
      if (lower === 'content-length') {
        if (contentLength !== undefined && contentLength !== value)
          throw new ResponseParseError('differing Content-Length values');
        contentLength = value;
        headers['content-length'] = value;
        continue;
      }
      if (lower === 'transfer-encoding') te = te === undefined ? value : `${te}, ${value}`;
      else if (lower === 'connection')
        connection = connection === undefined ? value : `${connection}, ${value}`;
      const prev = headers[lower];
      if (prev === undefined) headers[lower] = value;
      else if (Array.isArray(prev)) prev.push(value);
      else (headers as Record<string, string | string[]>)[lower] = [prev, value];
    }
    const http10 = m[1] === '0';
    const conn = connection?.toLowerCase();
    const keepAlive = http10 ? conn?.includes('keep-alive') === true : conn?.includes('close') !== true;
    this.#keepAlive = keepAlive;
    if (status < 200) {
      // 101 is only for Upgrade, which does not come this way; other 1xx are interim: read the next head.
      if (status === 101) throw new ResponseParseError('unexpected 101 Switching Protocols');
      return;
    }
    if (te !== undefined && contentLength !== undefined)
      throw new ResponseParseError('both Transfer-Encoding and Content-Length');
    this.#sink.onResponseHead(status, m[3] ?? '', headers, keepAlive);
    if (this.#noBody || status === 204 || status === 304) {
      this.#finishEmpty();
      return;
    }
    if (te !== undefined) {
      const codings = te.toLowerCase().split(',');
      if ((codings[codings.length - 1] as string).trim() !== 'chunked') {
        // Not chunked last: the body runs until the connection closes (RFC 9112 §6.3).
        this.#keepAlive = false;
        this.#state = State.UntilClose;
        return;
      }
      this.#state = State.ChunkSize;
      return;
    }
    if (contentLength !== undefined) {
      if (!/^[0-9]{1,15}$/.test(contentLength)) throw new ResponseParseError('invalid Content-Length');
      this.#remaining = Number(contentLength);
      if (this.#remaining === 0) this.#finishEmpty();
      else this.#state = State.Length;
      return;
    }
    this.#keepAlive = false;
    this.#state = State.UntilClose;
  }

  #finishEmpty(): void {
    this.#state = State.Done;
    this.#sink.onResponseEnd(this.#keepAlive);
  }
}

function chunkSize(line: string): number {
  const semi = line.indexOf(';');
  const hex = (semi === -1 ? line : line.slice(0, semi)).replace(/[ \t]+$/, '');
  if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new ResponseParseError('invalid chunk size');
  return Number.parseInt(hex, 16);
}
