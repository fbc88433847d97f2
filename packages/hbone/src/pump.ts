import { constants as h2 } from 'node:http2';
import { Socket } from 'node:net';
import { type Duplex, setDefaultHighWaterMark } from 'node:stream';
import { PUMP_BUFFER_LIMIT } from './settings.js';

/** What a finished pump reports, for metrics and access logs. */
export interface PumpResult {
  /** Bytes read from `a` and written to `b`. */
  bytesAtoB: number;
  /** Bytes read from `b` and written to `a`. */
  bytesBtoA: number;
  durationMs: number;
  /** The first error that ended the pump abnormally (a reset, an abort); undefined on a clean close. */
  error: Error | undefined;
}

export interface PumpOptions {
  /** Bytes allowed in a destination's write buffer before its source pauses (default 1 MiB). */
  bufferLimit?: number;
}

/** Directions written this turn of the event loop; one shared setImmediate ends the turn for all of them. */
const batched: Direction[] = [];
let flushScheduled = false;

function endTurn(): void {
  flushScheduled = false;
  for (let i = 0; i < batched.length; i++) {
    const d = batched[i]!;
    d.wroteThisTurn = false;
    if (d.corked) {
      d.corked = false;
      d.dst.uncork();
    }
  }
  batched.length = 0;
}

/** One direction of a pump; its handlers are bound once per connection, never per chunk. */
class Direction {
  bytes = 0;
  corked = false;
  wroteThisTurn = false;
  readonly onData: (chunk: Buffer) => void;
  readonly onDrain: () => void;
  readonly onEnd: () => void;

  constructor(
    readonly src: Duplex,
    readonly dst: Duplex,
    readonly limit: number,
  ) {
    this.onData = (chunk) => {
      this.bytes += chunk.length;
      const dst = this.dst;
      // The first chunk of a turn goes out at once (latency); later ones in the same turn are corked and
      // leave together in one writev when the turn ends (throughput).
      if (!this.corked) {
        if (this.wroteThisTurn) {
          this.corked = true;
          dst.cork();
        } else {
          this.wroteThisTurn = true;
          batched.push(this);
          if (!flushScheduled) {
            flushScheduled = true;
            setImmediate(endTurn);
          }
        }
      }
      // write() returning false guarantees a later 'drain', so pausing here can always resume.
      if (!dst.write(chunk) && dst.writableLength >= this.limit) this.src.pause();
    };
    this.onDrain = () => {
      if (this.src.isPaused()) this.src.resume();
    };
    const passEnd = (): void => {
      // A reset HTTP/2 stream emits 'end' before its reset code is known: that is an abort, not a half-close.
      if (wasReset(this.src)) abortStream(this.dst);
      else if (!this.dst.destroyed && !this.dst.writableEnded) this.dst.end();
    };
    // For HTTP/2 sources, wait one turn so a RST_STREAM that came with the end is seen first.
    this.onEnd = isHttp2Stream(src) ? () => setImmediate(passEnd) : passEnd;
  }

  attach(): void {
    this.src.on('data', this.onData);
    this.src.on('end', this.onEnd);
    this.dst.on('drain', this.onDrain);
  }

  detach(): void {
    this.src.off('data', this.onData);
    this.src.off('end', this.onEnd);
    this.dst.off('drain', this.onDrain);
  }
}

function isHttp2Stream(s: Duplex): s is Duplex & { close(code?: number): void; rstCode?: number } {
  return 'rstCode' in s && typeof (s as { close?: unknown }).close === 'function';
}

function wasReset(s: Duplex): boolean {
  return isHttp2Stream(s) && s.rstCode !== undefined && s.rstCode !== h2.NGHTTP2_NO_ERROR;
}

function ignoreError(): void {}

/** Abort a side so its peer sees a reset, not a clean end: RST for TCP, RST_STREAM for HTTP/2. */
export function abortStream(s: Duplex, cause?: Error): void {
  if (s.destroyed) return;
  if (s instanceof Socket) {
    if (!s.connecting && typeof s.resetAndDestroy === 'function') {
      try {
        s.resetAndDestroy();
        return;
      } catch {
        // Not connected yet or already closing: a plain destroy is all that is left.
      }
    }
    s.destroy();
    return;
  }
  if (isHttp2Stream(s)) {
    // RFC 9113 §8.5: a TCP-level failure of a CONNECT tunnel is signalled with CONNECT_ERROR. Closing with
    // a code makes the stream emit 'error'; make sure someone listens so the process does not crash.
    if (s.listenerCount('error') === 0) s.on('error', ignoreError);
    s.close(h2.NGHTTP2_CONNECT_ERROR);
    return;
  }
  s.destroy(cause);
}

/**
 * Raise the process-wide default stream buffer (Node's 16/64 KiB) to `bytes` for streams created from
 * now on. Measured here: +40-100% HBONE throughput at 1 MiB. Process-wide, so apps call it at startup.
 */
export function setStreamBufferDefaults(bytes = PUMP_BUFFER_LIMIT): void {
  setDefaultHighWaterMark(false, bytes);
}

/** Set the per-socket options every Weft socket carries. */
export function tuneSocket(socket: Socket, keepAliveMs = 180_000): void {
  socket.setNoDelay(true);
  socket.setKeepAlive(true, keepAliveMs);
}

/**
 * Copy bytes both ways between `a` and `b` until both directions have ended (half-close is passed
 * on: an end from one side ends the other's writable side) or either side fails (the failure is passed
 * on as a reset). Backpressure pauses the reading side when the other side's buffer passes
 * `bufferLimit`; writes in one event-loop turn are batched with cork/uncork.
 * Resolves once both sides are closed; never rejects.
 */
export function pump(a: Duplex, b: Duplex, options: PumpOptions = {}): Promise<PumpResult> {
  const limit = options.bufferLimit ?? PUMP_BUFFER_LIMIT;
  const started = performance.now();
  for (const s of [a, b]) {
    if (s instanceof Socket) {
      s.allowHalfOpen = true;
      if (!s.destroyed && !s.connecting) tuneSocket(s);
    }
  }
  const ab = new Direction(a, b, limit);
  const ba = new Direction(b, a, limit);
  return new Promise<PumpResult>((resolve) => {
    let error: Error | undefined;
    let aClosed = false;
    let bClosed = false;
    let finished = false;

    const onError = (err: Error): void => {
      error ??= err;
    };
    const finish = (): void => {
      if (finished) return;
      finished = true;
      ab.detach();
      ba.detach();
      // The error listeners stay: a late error on a closed side must not become an uncaught exception.
      resolve({
        bytesAtoB: ab.bytes,
        bytesBtoA: ba.bytes,
        durationMs: performance.now() - started,
        error,
      });
    };
    // A side that closes before both of its directions completed was reset or aborted: pass that on.
    // (An HTTP/2 stream reset by its peer may still have ended its readable side: check the code too.)
    const closedEarly = (s: Duplex): boolean => !(s.readableEnded && s.writableFinished) || wasReset(s);
    const onAClose = (): void => {
      if (aClosed) return;
      aClosed = true;
      if (closedEarly(a)) {
        error ??= (a as { errored?: Error | null }).errored ?? new Error('stream closed abruptly');
        abortStream(b, error);
      }
      if (bClosed) finish();
    };
    const onBClose = (): void => {
      if (bClosed) return;
      bClosed = true;
      if (closedEarly(b)) {
        error ??= (b as { errored?: Error | null }).errored ?? new Error('stream closed abruptly');
        abortStream(a, error);
      }
      if (aClosed) finish();
    };

    a.on('error', onError);
    b.on('error', onError);
    a.once('close', onAClose);
    b.once('close', onBClose);
    ab.attach();
    ba.attach();
    // A side that is already gone will not emit 'close' again.
    if (a.closed) onAClose();
    if (b.closed) onBClose();
  });
}
