/**
 * Pushes waiting to be sent, per connection, sent one connection per event-loop turn. A push is encoded and
 * written in one go, and nothing leaves the process until the current turn ends: sending to every client in
 * the same turn would hold the first client's response back until the last one is built. One connection per
 * turn lets each response go out as soon as it is ready. Names queued again for a connection before its
 * turn merge into one push, which carries the resources as they are when it is sent.
 */
export class PushQueue<C> {
  readonly #pending = new Map<C, Map<string, Set<string>>>();
  readonly #send: (connection: C, typeUrl: string, names: string[]) => void;
  readonly #drained: () => void;
  readonly #failed: (connection: C, err: unknown) => void;
  #scheduled: NodeJS.Immediate | undefined;

  /**
   * `send` pushes to one connection; `drained` runs after each connection's turn; `failed` hears what a
   * send threw (the other connections' pushes go on).
   */
  constructor(
    send: (connection: C, typeUrl: string, names: string[]) => void,
    drained: () => void,
    failed: (connection: C, err: unknown) => void,
  ) {
    this.#send = send;
    this.#drained = drained;
    this.#failed = failed;
  }

  readonly #idle: (() => void)[] = [];

  /** Resolves once no push waits to be sent (now, when none does). */
  whenSent(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Connections with a push not sent yet. */
  get size(): number {
    return this.#pending.size;
  }

  add(connection: C, typeUrl: string, names: readonly string[]): void {
    let types = this.#pending.get(connection);
    if (types === undefined) {
      types = new Map();
      this.#pending.set(connection, types);
    }
    let set = types.get(typeUrl);
    if (set === undefined) {
      set = new Set();
      types.set(typeUrl, set);
    }
    for (const n of names) set.add(n);
    this.#scheduled ??= setImmediate(() => this.#turn());
  }

  /** Forgets a connection (it closed). */
  delete(connection: C): void {
    this.#pending.delete(connection);
    this.#settle();
  }

  clear(): void {
    this.#pending.clear();
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#settle();
  }

  #settle(): void {
    if (this.#pending.size === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  #turn(): void {
    this.#scheduled = undefined;
    const first = this.#pending.entries().next();
    if (first.done === true) return;
    const [connection, types] = first.value;
    this.#pending.delete(connection);
    try {
      for (const [typeUrl, names] of types) this.#send(connection, typeUrl, [...names]);
    } catch (err) {
      this.#failed(connection, err);
    }
    if (this.#pending.size > 0) this.#scheduled = setImmediate(() => this.#turn());
    this.#drained();
    this.#settle();
  }
}
