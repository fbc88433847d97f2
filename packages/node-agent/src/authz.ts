/**
 * L4 authorization at the destination (ztunnel's assert_rbac): the policies that apply to a workload
 * are the global ones (root namespace), its namespace's, and the selector policies it lists; the
 * decision comes from @weft/policy. STRICT PeerAuthentication arrives from pilot as a DENY policy for
 * connections without an identity, so the plaintext path needs nothing else.
 *
 * Policies are compiled once per discovery change into an indexed L4PolicyStore (per view), so a
 * connection costs a cached lookup and a compiled evaluation, never a scan or a compile.
 */
import type { Authorization, Workload } from '@weft/config';
import { type L4Authorization, type L4Decision, L4PolicyStore, type L4WorkloadRef } from '@weft/policy';
import type { DiscoveryView } from './discovery.js';

export interface InboundAttributes {
  /** SPIFFE ID of the peer (HBONE); undefined on plaintext. */
  sourceIdentity: string | undefined;
  sourceIp: string;
  destinationIp: string;
  destinationPort: number;
}

export type Decision = L4Decision;

interface IndexedView {
  store: L4PolicyStore;
  /** The Authorization objects the store was built from, by key; replaced objects are recompiled. */
  loaded: Map<string, Authorization>;
  dirty: boolean;
  refs: WeakMap<Workload, L4WorkloadRef>;
}

const indexes = new WeakMap<DiscoveryView, IndexedView>();

/**
 * Starts following `view`'s policy changes. Call it before registering any change listener that
 * authorizes (the re-check of open connections), so the index is marked stale first.
 */
export function followAuthorizations(view: DiscoveryView): void {
  indexFor(view);
}

function indexFor(view: DiscoveryView): IndexedView {
  let index = indexes.get(view);
  if (index === undefined) {
    const created: IndexedView = {
      store: new L4PolicyStore(),
      loaded: new Map(),
      dirty: true,
      refs: new WeakMap(),
    };
    view.onChange(() => {
      created.dirty = true;
    });
    indexes.set(view, created);
    index = created;
  }
  if (index.dirty) {
    index.dirty = false;
    for (const [key, a] of view.authorizations) {
      if (index.loaded.get(key) === a) continue;
      // The config model and the policy model are the same shape (presence differs only in its marker).
      index.store.upsert(a as unknown as L4Authorization);
      index.loaded.set(key, a);
    }
    for (const [key, a] of index.loaded) {
      if (view.authorizations.has(key)) continue;
      index.store.remove(a.namespace, a.name);
      index.loaded.delete(key);
    }
  }
  return index;
}

function refOf(index: IndexedView, w: Workload): L4WorkloadRef {
  let ref = index.refs.get(w);
  if (ref === undefined) {
    ref = { namespace: w.namespace, policies: w.authorizationPolicies };
    index.refs.set(w, ref);
  }
  return ref;
}

/** The policies that apply to `w` (for admin dumps and explanations). */
export function policiesFor(view: DiscoveryView, w: Workload): L4Authorization[] {
  const index = indexFor(view);
  return index.store.forWorkload(refOf(index, w)).map((c) => c.authorization);
}

export function authorize(view: DiscoveryView, w: Workload, attrs: InboundAttributes): Decision {
  const index = indexFor(view);
  return index.store.evaluate(refOf(index, w), {
    sourceIdentity: attrs.sourceIdentity,
    sourceIp: attrs.sourceIp,
    destinationIp: attrs.destinationIp,
    destinationPort: attrs.destinationPort,
  });
}
