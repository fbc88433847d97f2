import type { Workload } from '@weft/config';
import type { InboundAttributes } from './authz.js';

/** An open inbound connection, kept so a policy change can re-check it (ztunnel's connection_manager). */
export interface TrackedConnection {
  readonly podUid: string;
  /** The destination workload uid (looked up again on re-check). */
  readonly workloadUid: string;
  readonly attrs: InboundAttributes;
  /** Closes the connection because policy no longer allows it. */
  close(reason: string): void;
}

export class ConnectionTracker {
  readonly #open = new Set<TrackedConnection>();

  add(c: TrackedConnection): () => void {
    this.#open.add(c);
    return () => this.#open.delete(c);
  }

  get size(): number {
    return this.#open.size;
  }

  /**
   * Re-decides every open connection; closes those `decide` now denies. Returns how many were closed.
   * `decide` returns a reason to close, or undefined to keep.
   */
  recheck(
    decide: (c: TrackedConnection, workload: Workload | undefined) => string | undefined,
    lookup: (uid: string) => Workload | undefined,
  ): number {
    let closed = 0;
    for (const c of [...this.#open]) {
      const reason = decide(c, lookup(c.workloadUid));
      if (reason !== undefined) {
        this.#open.delete(c);
        c.close(reason);
        closed++;
      }
    }
    return closed;
  }

  countFor(podUid: string): number {
    let n = 0;
    for (const c of this.#open) if (c.podUid === podUid) n++;
    return n;
  }
}
