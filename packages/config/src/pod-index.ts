/**
 * Pods indexed by namespace and by `label=value`, so selecting pods for a Service or a policy costs the
 * size of the smallest matching label set instead of a scan of every pod. The label index of a namespace is
 * built on its first query: a recompute that only revisits one namespace indexes only that namespace's pods.
 */
import type { PodInfo } from './kube.js';

type LabelIndex = Map<string, PodInfo[]>;

export class PodIndex {
  readonly #byNamespace = new Map<string, PodInfo[]>();
  readonly #labelsByNamespace = new Map<string, LabelIndex>();
  #allLabels: LabelIndex | undefined;
  readonly #all: PodInfo[];

  constructor(pods: Iterable<PodInfo>) {
    this.#all = [...pods];
    for (const p of this.#all) push(this.#byNamespace, p.namespace, p);
  }

  /** Pods of `namespace` (every namespace when undefined) whose labels include all of `matchLabels`. */
  select(
    namespace: string | undefined,
    matchLabels: Readonly<Record<string, string>> | undefined,
  ): PodInfo[] {
    const keys = matchLabels === undefined ? [] : Object.keys(matchLabels);
    const scope = namespace === undefined ? this.#all : (this.#byNamespace.get(namespace) ?? []);
    let candidates: readonly PodInfo[] = scope;
    if (keys.length > 0) {
      const labels = this.#labels(namespace);
      for (const k of keys) {
        const list = labels.get(`${k}=${matchLabels?.[k]}`) ?? [];
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

  #labels(namespace: string | undefined): LabelIndex {
    let index = namespace === undefined ? this.#allLabels : this.#labelsByNamespace.get(namespace);
    if (index !== undefined) return index;
    index = new Map();
    const pods = namespace === undefined ? this.#all : (this.#byNamespace.get(namespace) ?? []);
    for (const p of pods) for (const k in p.labels) push(index, `${k}=${p.labels[k]}`, p);
    if (namespace === undefined) this.#allLabels = index;
    else this.#labelsByNamespace.set(namespace, index);
    return index;
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else list.push(v);
}
