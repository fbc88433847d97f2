/**
 * Keep-alive HTTP/1.1 connections to one endpoint: the most recently used idle connection first (LIFO,
 * so idle ones age out), new ones from the connector up to a cap, then a queue. A connect failure rejects
 * before any request byte is sent, so the caller may try another endpoint.
 */

import { type ConnectionOwner, H1Connection } from './h1-connection.js';
import type { Endpoint } from './mesh-view.js';
import type { UpstreamConnector } from './upstream.js';

export interface H1PoolOptions {
  readonly connector: UpstreamConnector;
  /** Connections per endpoint (default 256); more requests wait for one to come free. */
  readonly maxConnections: number;
  /** Largest upstream response head accepted. */
  readonly maxHeadBytes: number;
}

interface Waiter {
  resolve(conn: H1Connection): void;
  reject(err: unknown): void;
}

export class H1Pool implements ConnectionOwner {
  readonly #ep: Endpoint;
  readonly #o: H1PoolOptions;
  readonly #idle: H1Connection[] = [];
  readonly #waiters: Waiter[] = [];
  #open = 0;
  #closed = false;

  constructor(ep: Endpoint, options: H1PoolOptions) {
    this.#ep = ep;
    this.#o = options;
  }

  /** An idle connection right away, or a promise of a new (or freed) one. */
  acquire(): H1Connection | Promise<H1Connection> {
    const idle = this.#idle;
    while (idle.length > 0) {
      const conn = idle.pop() as H1Connection;
      if (conn.usable) return conn;
      conn.close();
    }
    if (this.#open < this.#o.maxConnections) return this.#connect();
    return new Promise<H1Connection>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  #connect(): Promise<H1Connection> {
    this.#open++;
    return this.#o.connector.connect(this.#ep).then(
      (stream) => {
        const conn = new H1Connection(stream, this, this.#o.maxHeadBytes);
        if (this.#closed) conn.close();
        return conn;
      },
      (err: unknown) => {
        this.#open--;
        throw err;
      },
    );
  }

  release(conn: H1Connection): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve(conn);
      return;
    }
    if (this.#closed) conn.close();
    else this.#idle.push(conn);
  }

  remove(conn: H1Connection): void {
    this.#open--;
    const i = this.#idle.indexOf(conn);
    if (i !== -1) this.#idle.splice(i, 1);
    const waiter = this.#waiters.shift();
    if (waiter !== undefined && !this.#closed) this.#connect().then(waiter.resolve, waiter.reject);
  }

  /** Closes connections idle since before `cutoff` (Date.now() milliseconds). */
  sweep(cutoff: number): void {
    // Oldest first: the LIFO stack keeps them at the bottom.
    while (this.#idle.length > 0 && (this.#idle[0] as H1Connection).idleSince < cutoff)
      (this.#idle[0] as H1Connection).close();
  }

  /** Closed (evicted or shut down): callers must look up the endpoint's current pool. */
  get closed(): boolean {
    return this.#closed;
  }

  get idle(): number {
    return this.#idle.length;
  }

  get open(): number {
    return this.#open;
  }

  close(): void {
    this.#closed = true;
    for (const conn of [...this.#idle]) conn.close();
    for (const w of this.#waiters.splice(0)) w.reject(new Error('upstream pool closed'));
  }
}
