/**
 * One namespace's AuthorizationPolicies for workload lookups: namespace-wide ones, and selector
 * ones indexed by one of their labels (`key=value`), so a workload's lookup touches only the
 * selector policies that share a label with it instead of every selector policy in the namespace.
 */
import type { CompiledAuthorizationPolicy } from './compile.js';
import { selectorMatches } from './selector.js';

export interface NamespaceBucket {
  /** No selector: apply to every workload (sorted by key). */
  readonly wide: readonly CompiledAuthorizationPolicy[];
  /** All selector policies (sorted by key). */
  readonly selector: readonly CompiledAuthorizationPolicy[];
  /** Selector policies by their first label `key=value`. */
  readonly byLabel: ReadonlyMap<string, readonly CompiledAuthorizationPolicy[]>;
  /** Selector policies with empty matchLabels (they select everything). */
  readonly emptySelector: readonly CompiledAuthorizationPolicy[];
}

export const EMPTY_BUCKET: NamespaceBucket = {
  wide: [],
  selector: [],
  byLabel: new Map(),
  emptySelector: [],
};

export function byKey(a: CompiledAuthorizationPolicy, b: CompiledAuthorizationPolicy): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Builds the bucket from a namespace's policies (targetRef policies are left out). */
export function buildBucket(policies: Iterable<CompiledAuthorizationPolicy>): NamespaceBucket {
  const wide: CompiledAuthorizationPolicy[] = [];
  const selector: CompiledAuthorizationPolicy[] = [];
  const byLabel = new Map<string, CompiledAuthorizationPolicy[]>();
  const emptySelector: CompiledAuthorizationPolicy[] = [];
  for (const p of policies) {
    if (p.policy.targetRefs.length > 0) continue;
    const sel = p.policy.selector;
    if (sel === undefined) {
      wide.push(p);
      continue;
    }
    selector.push(p);
    const first = Object.keys(sel.matchLabels).sort()[0];
    if (first === undefined) {
      emptySelector.push(p);
      continue;
    }
    const k = `${first}=${sel.matchLabels[first]}`;
    let list = byLabel.get(k);
    if (list === undefined) {
      list = [];
      byLabel.set(k, list);
    }
    list.push(p);
  }
  return { wide: wide.sort(byKey), selector: selector.sort(byKey), byLabel, emptySelector };
}

/** The bucket's policies that apply to a workload with these labels: wide first, then selector (by key). */
export function matchBucket(
  b: NamespaceBucket,
  labels: Readonly<Record<string, string>>,
  out: CompiledAuthorizationPolicy[],
): void {
  for (const p of b.wide) out.push(p);
  if (b.selector.length === 0) return;
  const hits: CompiledAuthorizationPolicy[] = [...b.emptySelector];
  for (const k in labels) {
    const list = b.byLabel.get(`${k}=${labels[k]}`);
    if (list === undefined) continue;
    for (const p of list) if (selectorMatches(p.policy.selector, labels)) hits.push(p);
  }
  for (const p of hits.sort(byKey)) out.push(p);
}
