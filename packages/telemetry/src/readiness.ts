/**
 * Readiness is the AND of named conditions ("xds synced", "pods captured"…); /healthz/ready answers 200
 * only when every registered condition is ready, and otherwise says which are not.
 */
export class Readiness {
  readonly #pending = new Map<string, string>();
  readonly #known = new Set<string>();

  /** Declare a condition that starts not ready. */
  require(name: string, reason = 'not started'): void {
    this.#known.add(name);
    this.#pending.set(name, reason);
  }

  markReady(name: string): void {
    this.#known.add(name);
    this.#pending.delete(name);
  }

  markNotReady(name: string, reason: string): void {
    this.#known.add(name);
    this.#pending.set(name, reason);
  }

  get ready(): boolean {
    return this.#pending.size === 0;
  }

  /** Conditions not ready, with their reasons. */
  pending(): Record<string, string> {
    return Object.fromEntries(this.#pending);
  }

  conditions(): string[] {
    return [...this.#known];
  }
}
