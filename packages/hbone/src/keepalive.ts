import type { Http2Session } from 'node:http2';
import { HboneError, HboneErrorCode } from './errors.js';

interface Entry {
  lastAck: number;
  outstanding: boolean;
  readonly onAck: (err: Error | null) => void;
}

/**
 * HTTP/2 PING liveness for many sessions on one timer: every `intervalMs` each session gets a PING;
 * a session with no PING reply for `timeoutMs` is destroyed. One timer per server or pool, not per session.
 */
export class PingKeepalive {
  readonly #sessions = new Map<Http2Session, Entry>();
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(intervalMs: number, timeoutMs: number) {
    this.#intervalMs = intervalMs;
    this.#timeoutMs = timeoutMs;
  }

  add(session: Http2Session): void {
    const entry: Entry = {
      lastAck: performance.now(),
      outstanding: false,
      onAck: (err) => {
        entry.outstanding = false;
        if (err === null) entry.lastAck = performance.now();
      },
    };
    this.#sessions.set(session, entry);
    if (this.#timer === undefined && this.#intervalMs > 0) {
      this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  delete(session: Http2Session): void {
    this.#sessions.delete(session);
    if (this.#sessions.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#sessions.clear();
  }

  #tick(): void {
    const now = performance.now();
    for (const [session, entry] of this.#sessions) {
      if (session.destroyed) {
        this.#sessions.delete(session);
        continue;
      }
      if (now - entry.lastAck > this.#timeoutMs) {
        this.#sessions.delete(session);
        session.destroy(
          new HboneError(HboneErrorCode.PingTimeout, `no HTTP/2 PING reply for ${this.#timeoutMs} ms`),
        );
        continue;
      }
      if (!entry.outstanding) {
        try {
          entry.outstanding = session.ping(entry.onAck);
        } catch {
          // Session is closing; it leaves the map on its next tick or on 'close'.
        }
      }
    }
  }
}
