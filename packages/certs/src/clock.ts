/** Time and timers, injectable so tests drive rotation without waiting. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` after `ms`; the returned function cancels it. Timers never keep the process alive. */
  schedule(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(fn, ms) {
    // setTimeout's limit is 2^31-1 ms (~24.8 days); longer waits re-arm.
    const MAX = 2_147_483_647;
    let timer: NodeJS.Timeout;
    const arm = (left: number) => {
      timer = setTimeout(() => (left > MAX ? arm(left - MAX) : fn()), Math.min(left, MAX));
      timer.unref();
    };
    arm(Math.max(0, ms));
    return () => clearTimeout(timer);
  },
};

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

/** A clock that moves only when told to; timers fire in order during `advance`. */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #pending: Pending[] = [];

  constructor(start = Date.UTC(2030, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  schedule(fn: () => void, ms: number): () => void {
    const entry: Pending = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#pending.push(entry);
    return () => {
      this.#pending = this.#pending.filter((p) => p !== entry);
    };
  }

  /** Timers still waiting. */
  get pendingTimers(): number {
    return this.#pending.length;
  }

  /** Moves time forward by `ms`, firing due timers in order (and timers they schedule, if due). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      this.#pending.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#pending[0];
      if (next === undefined || next.at > target) break;
      this.#pending.shift();
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = target;
  }

  /** Jumps to an absolute time (forward only). */
  set(ms: number): void {
    if (ms > this.#now) this.advance(ms - this.#now);
  }
}
