/** Limits concurrent work (at most `limit` CSRs in flight, as ztunnel does). */
export class Semaphore {
  #free: number;
  readonly #waiters: (() => void)[] = [];

  constructor(limit: number) {
    this.#free = limit;
  }

  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiters.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next !== undefined) next();
      else this.#free++;
    };
  }
}
