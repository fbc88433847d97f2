/**
 * The node agent's copy of the L4 policies (from discovery), compiled on arrival and indexed so a
 * connection sees only: GLOBAL policies, NAMESPACE policies of the destination's namespace, and the
 * WORKLOAD_SELECTOR policies the destination workload lists by key.
 */
import {
  type CompiledL4Authorization,
  compileL4,
  evaluateCompiledL4,
  type L4Connection,
  type L4Decision,
} from './evaluate-l4.js';
import type { L4Authorization } from './l4-model.js';

export interface L4WorkloadRef {
  readonly namespace: string;
  /** Workload.authorization_policies: `namespace/name` keys of selector policies. */
  readonly policies: readonly string[];
}

export class L4PolicyStore {
  private readonly byKey = new Map<string, CompiledL4Authorization>();
  private readonly global = new Map<string, CompiledL4Authorization>();
  private readonly byNamespace = new Map<string, Map<string, CompiledL4Authorization>>();
  private readonly cache = new WeakMap<L4WorkloadRef, { version: number; list: CompiledL4Authorization[] }>();
  private changes = 0;

  get version(): number {
    return this.changes;
  }

  get size(): number {
    return this.byKey.size;
  }

  upsert(a: L4Authorization): void {
    const key = `${a.namespace}/${a.name}`;
    this.remove(a.namespace, a.name);
    const c = compileL4(a);
    this.byKey.set(key, c);
    if (a.scope === 'GLOBAL') this.global.set(key, c);
    else if (a.scope === 'NAMESPACE') {
      let m = this.byNamespace.get(a.namespace);
      if (m === undefined) {
        m = new Map();
        this.byNamespace.set(a.namespace, m);
      }
      m.set(key, c);
    }
    this.changes++;
  }

  remove(namespace: string, name: string): boolean {
    const key = `${namespace}/${name}`;
    if (!this.byKey.delete(key)) return false;
    this.global.delete(key);
    this.byNamespace.get(namespace)?.delete(key);
    this.changes++;
    return true;
  }

  get(key: string): L4Authorization | undefined {
    return this.byKey.get(key)?.authorization;
  }

  /** The compiled policies for a destination workload; cached per workload object and store version. */
  forWorkload(w: L4WorkloadRef): readonly CompiledL4Authorization[] {
    const hit = this.cache.get(w);
    if (hit !== undefined && hit.version === this.changes) return hit.list;
    const list: CompiledL4Authorization[] = [...this.global.values()];
    for (const c of this.byNamespace.get(w.namespace)?.values() ?? []) list.push(c);
    for (const k of w.policies) {
      const c = this.byKey.get(k);
      if (c !== undefined && c.authorization.scope === 'WORKLOAD_SELECTOR') list.push(c);
    }
    this.cache.set(w, { version: this.changes, list });
    return list;
  }

  evaluate(w: L4WorkloadRef, conn: L4Connection): L4Decision {
    return evaluateCompiledL4(this.forWorkload(w), conn);
  }
}
