/**
 * Two connected in-memory Duplex ends: what one writes, the other reads, with backpressure. The HBONE
 * server pumps a CONNECT stream into one end; the HTTP engine serves the other as if it were a socket
 * (http.Server / http2.Server accept any Duplex through 'connection'). Node 20 has no stream.duplexPair.
 */
import { Duplex } from 'node:stream';

const noop = (): void => {};

/** One end; carries socket-like fields the HTTP servers and our logs read. */
export class PairEnd extends Duplex {
  peer: PairEnd | undefined;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  #blocked: ((error?: Error | null) => void) | undefined;
  #timeoutMs = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #onTimeout = (): void => {
    this.emit('timeout');
  };

  constructor() {
    super({ allowHalfOpen: true, decodeStrings: false });
  }

  override _read(): void {
    const peer = this.peer;
    if (peer === undefined) return;
    const cb = peer.#blocked;
    if (cb !== undefined) {
      peer.#blocked = undefined;
      cb();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (peer === undefined || peer.destroyed) {
      cb(new Error('the other end of the stream is closed'));
      return;
    }
    this.#timer?.refresh();
    peer.#timer?.refresh();
    if (peer.push(chunk)) cb();
    else this.#blocked = cb;
  }

  override _final(cb: (error?: Error | null) => void): void {
    this.peer?.push(null);
    cb();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const blocked = this.#blocked;
    this.#blocked = undefined;
    blocked?.(err ?? new Error('stream destroyed'));
    const peer = this.peer;
    this.peer = undefined;
    if (peer !== undefined && !peer.destroyed) {
      peer.peer = undefined;
      peer.destroy();
    }
    cb(err);
  }

  /** Idle timeout like net.Socket#setTimeout: emits 'timeout' after `ms` without reads or writes. */
  setTimeout(ms: number, cb?: () => void): this {
    if (cb !== undefined) this.once('timeout', cb);
    this.#timeoutMs = ms;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (ms > 0 && !this.destroyed) {
      this.#timer = setTimeout(this.#onTimeout, ms);
      this.#timer.unref();
    }
    return this;
  }

  get timeout(): number {
    return this.#timeoutMs;
  }

  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  setKeepAlive(_enable?: boolean, _delay?: number): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk !== null) this.#timer?.refresh();
    return super.push(chunk, encoding);
  }
}

/** Two ends wired to each other. */
export function duplexPair(): [PairEnd, PairEnd] {
  const a = new PairEnd();
  const b = new PairEnd();
  a.peer = b;
  b.peer = a;
  a.on('error', noop);
  b.on('error', noop);
  return [a, b];
}
