/**
 * Pods indexed by namespace and by `label=value`, so selecting pods for a Service or a policy costs the
 * size of the smallest matching label set instead of a scan of every pod.
 */
import type { PodInfo } from './kube.js';

export class PodIndex {
  readonly #byNamespace = new Map<string, PodInfo[]>();
  readonly #byLabel = new Map<string, PodInfo[]>();
  readonly #all: PodInfo[];

  constructor(pods: Iterable<PodInfo>) {
    this.#all = [...pods];
    for (const p of this.#all) {
      push(this.#byNamespace, p.namespace, p);
      for (const k in p.labels) push(this.#byLabel, `${k}=${p.labels[k]}`, p);
    }
  }

  /** Pods of `namespace` (every namespace when undefined) whose labels include all of `matchLabels`. */
  select(
    namespace: string | undefined,
    matchLabels: Readonly<Record<string, string>> | undefined,
  ): PodInfo[] {
    const keys = matchLabels === undefined ? [] : Object.keys(matchLabels);
    let candidates: readonly PodInfo[];
    if (keys.length === 0)
      candidates = namespace === undefined ? this.#all : (this.#byNamespace.get(namespace) ?? []);
    else {
      candidates = this.#all;
      for (const k of keys) {
        const list = this.#byLabel.get(`${k}=${matchLabels?.[k]}`) ?? [];
        if (list.length < candidates.length) candidates = list;
      }
    }
    const out: PodInfo[] = [];
    for (const p of candidates) {
      if (namespace !== undefined && p.namespace !== namespace) continue;
      let ok = true;
      for (const k of keys) if (p.labels[k] !== matchLabels?.[k]) ok = false;
      if (ok) out.push(p);
    }
    return out;
  }

  inNamespace(namespace: string): readonly PodInfo[] {
    return this.#byNamespace.get(namespace) ?? [];
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else list.push(v);
}
