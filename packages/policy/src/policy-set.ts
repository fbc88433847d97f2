/**
 * All security resources of a cluster, compiled and indexed by namespace, selector and targetRef so a
 * lookup touches only the root namespace's and the workload's namespace's policies. Updates are
 * incremental: a change in namespace X rebuilds only X's buckets (or every bucket for the root).
 */
import { type CompiledAuthorizationPolicy, compileAuthorizationPolicy } from './compile.js';
import { bundlePolicies, type PolicyBundle } from './evaluate.js';
import { compileJwtRules, type JwtProvider } from './jwt.js';
import type { L4Authorization } from './l4-model.js';
import { buildBucket, byKey, EMPTY_BUCKET, matchBucket, type NamespaceBucket } from './namespace-bucket.js';
import {
  convertPeerAuthentication,
  type EffectivePeerAuthentication,
  effectivePeerAuthentication,
  peerAuthenticationLevels,
  peerAuthenticationPolicyKeys,
  staticStrictPolicy,
} from './peer-authn.js';
import type { Problem } from './problems.js';
import { projectL4 } from './project-l4.js';
import { selectorMatches } from './selector.js';
import type { TrustDomainOptions } from './trust-domain.js';
import type {
  AuthorizationPolicy,
  PeerAuthentication,
  RequestAuthentication,
  SecurityResource,
  TargetsRef,
  ValidateOptions,
  WorkloadRef,
} from './types.js';
import { validateAuthorizationPolicy } from './validate-authz.js';
import { validatePeerAuthentication } from './validate-peer-authn.js';
import { validateRequestAuthentication } from './validate-request-authn.js';

export type SecurityKind = SecurityResource['kind'];

export interface PolicySetInput {
  /** Plain objects (validated here) or already-validated values. */
  readonly authorizationPolicies?: readonly unknown[];
  readonly peerAuthentications?: readonly unknown[];
  readonly requestAuthentications?: readonly unknown[];
  /** The mesh-wide namespace (default `istio-system`). */
  readonly rootNamespace?: string;
  /** Trust domain and aliases: principals in policies match identities of every alias. */
  readonly trustDomain?: string;
  readonly trustDomainAliases?: readonly string[];
}

function isValidated(x: unknown, kind: SecurityKind): boolean {
  return (
    typeof x === 'object' &&
    x !== null &&
    (x as { kind?: unknown }).kind === kind &&
    'namespace' in x &&
    !('metadata' in x)
  );
}

export class PolicySet {
  readonly rootNamespace: string;
  /** Current problems per resource (`Kind ns/name`); resources with errors are not in force. */
  readonly problems = new Map<string, readonly Problem[]>();
  private readonly authz = new Map<string, Map<string, CompiledAuthorizationPolicy>>();
  private readonly targeted = new Map<string, CompiledAuthorizationPolicy[]>();
  private readonly buckets = new Map<string, NamespaceBucket>();
  private readonly peer = new Map<string, Map<string, PeerAuthentication>>();
  private readonly requestAuthn = new Map<string, Map<string, RequestAuthentication>>();
  private readonly workloadCache = new Map<string, WeakMap<object, PolicyBundle>>();
  private readonly targetCache = new WeakMap<TargetsRef, { version: number; bundle: PolicyBundle }>();
  private targetsDirty = true;
  private changes = 0;

  private readonly trust: TrustDomainOptions | undefined;

  constructor(rootNamespace = 'istio-system', trust?: TrustDomainOptions) {
    this.rootNamespace = rootNamespace;
    this.trust = trust;
  }

  /** Bumped on every change; callers may cache lookups per version. */
  get version(): number {
    return this.changes;
  }

  get size(): number {
    let n = 0;
    for (const m of this.authz.values()) n += m.size;
    return n;
  }

  /** Every AuthorizationPolicy in force (valid), in no particular order. */
  authorizationPolicies(): AuthorizationPolicy[] {
    const out: AuthorizationPolicy[] = [];
    for (const m of this.authz.values()) for (const p of m.values()) out.push(p.policy);
    return out;
  }

  /** Validates and adds or replaces one resource of any of the three kinds. Returns its problems. */
  upsert(input: unknown, options?: ValidateOptions): readonly Problem[] {
    const kind = typeof input === 'object' && input !== null ? (input as { kind?: unknown }).kind : undefined;
    if (kind === 'PeerAuthentication') {
      if (isValidated(input, kind)) return this.upsertPeerAuthentication(input as PeerAuthentication);
      const r = validatePeerAuthentication(input, options);
      this.record(r.problems, input, kind, options);
      if (r.value !== undefined) this.upsertPeerAuthentication(r.value);
      return r.problems;
    }
    if (kind === 'RequestAuthentication') {
      if (isValidated(input, kind)) return this.upsertRequestAuthentication(input as RequestAuthentication);
      const r = validateRequestAuthentication(input, options);
      this.record(r.problems, input, kind, options);
      if (r.value !== undefined) this.upsertRequestAuthentication(r.value);
      return r.problems;
    }
    if (isValidated(input, 'AuthorizationPolicy'))
      return this.upsertAuthorizationPolicy(input as AuthorizationPolicy);
    const r = validateAuthorizationPolicy(input, options);
    this.record(r.problems, input, 'AuthorizationPolicy', options);
    if (r.value !== undefined) this.upsertAuthorizationPolicy(r.value);
    return r.problems;
  }

  private record(
    problems: readonly Problem[],
    input: unknown,
    kind: SecurityKind,
    options?: ValidateOptions,
  ): void {
    const md = (input as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
    const ns =
      typeof md?.namespace === 'string' && md.namespace !== ''
        ? md.namespace
        : (options?.defaultNamespace ?? 'default');
    const resource = `${kind} ${ns}/${typeof md?.name === 'string' ? md.name : '<unnamed>'}`;
    if (problems.length === 0) this.problems.delete(resource);
    else this.problems.set(resource, problems);
    // an invalid update removes the previous valid version: the object as stored is not in force
    if (problems.some((p) => p.severity === 'error') && typeof md?.name === 'string')
      this.drop(kind, ns, md.name);
  }

  upsertAuthorizationPolicy(p: AuthorizationPolicy): readonly Problem[] {
    let m = this.authz.get(p.namespace);
    if (m === undefined) {
      m = new Map();
      this.authz.set(p.namespace, m);
    }
    m.set(p.name, compileAuthorizationPolicy(p, this.trust));
    this.touch(p.namespace, p.targetRefs.length > 0);
    return [];
  }

  upsertPeerAuthentication(p: PeerAuthentication): readonly Problem[] {
    let m = this.peer.get(p.namespace);
    if (m === undefined) {
      m = new Map();
      this.peer.set(p.namespace, m);
    }
    m.set(p.name, p);
    this.changes++;
    return [];
  }

  upsertRequestAuthentication(p: RequestAuthentication): readonly Problem[] {
    let m = this.requestAuthn.get(p.namespace);
    if (m === undefined) {
      m = new Map();
      this.requestAuthn.set(p.namespace, m);
    }
    m.set(p.name, p);
    this.changes++;
    return [];
  }

  /** Removes a resource (and any problems recorded for it). */
  remove(kind: SecurityKind, namespace: string, name: string): boolean {
    this.problems.delete(`${kind} ${namespace}/${name}`);
    return this.drop(kind, namespace, name);
  }

  private drop(kind: SecurityKind, namespace: string, name: string): boolean {
    if (kind === 'AuthorizationPolicy') {
      const old = this.authz.get(namespace)?.get(name);
      if (old === undefined) return false;
      this.authz.get(namespace)!.delete(name);
      this.touch(namespace, old.policy.targetRefs.length > 0);
      return true;
    }
    const m = kind === 'PeerAuthentication' ? this.peer.get(namespace) : this.requestAuthn.get(namespace);
    const had = m?.delete(name) ?? false;
    if (had) this.changes++;
    return had;
  }

  private touch(namespace: string, targeted: boolean): void {
    this.changes++;
    this.buckets.delete(namespace);
    if (namespace === this.rootNamespace) this.workloadCache.clear();
    else this.workloadCache.delete(namespace);
    if (targeted) this.targetsDirty = true;
  }

  private bucket(namespace: string): NamespaceBucket {
    let b = this.buckets.get(namespace);
    if (b !== undefined) return b;
    const m = this.authz.get(namespace);
    b = m === undefined || m.size === 0 ? EMPTY_BUCKET : buildBucket(m.values());
    this.buckets.set(namespace, b);
    return b;
  }

  /**
   * The AuthorizationPolicies that apply to a workload: the root namespace's (mesh-wide, and its
   * selector policies matching the labels), the workload namespace's, and its selector policies.
   * targetRef policies are excluded (they belong to waypoints/gateways). Cached per labels object.
   */
  forWorkload(w: WorkloadRef): PolicyBundle {
    let cache = this.workloadCache.get(w.namespace);
    const hit = cache?.get(w.labels);
    if (hit !== undefined) return hit;
    const out: CompiledAuthorizationPolicy[] = [];
    matchBucket(this.bucket(this.rootNamespace), w.labels, out);
    if (w.namespace !== this.rootNamespace) matchBucket(this.bucket(w.namespace), w.labels, out);
    const bundle = bundlePolicies(out);
    if (cache === undefined) {
      cache = new WeakMap();
      this.workloadCache.set(w.namespace, cache);
    }
    cache.set(w.labels, bundle);
    return bundle;
  }

  private rebuildTargets(): void {
    this.targeted.clear();
    for (const m of this.authz.values()) {
      for (const p of m.values()) {
        for (const t of p.policy.targetRefs) {
          const k = `${t.kind === 'ServiceEntry' ? 'Service' : t.kind}/${t.namespace}/${t.name}`;
          let list = this.targeted.get(k);
          if (list === undefined) {
            list = [];
            this.targeted.set(k, list);
          }
          if (!list.includes(p)) list.push(p);
        }
      }
    }
    for (const list of this.targeted.values()) list.sort(byKey);
    this.targetsDirty = false;
  }

  /** The policies bound by targetRef(s) to a waypoint/gateway and the services it serves (cached per object). */
  forTargets(t: TargetsRef): PolicyBundle {
    const hit = this.targetCache.get(t);
    if (hit !== undefined && hit.version === this.changes) return hit.bundle;
    if (this.targetsDirty) this.rebuildTargets();
    const keys: string[] = [];
    if (t.gateway !== undefined) keys.push(`Gateway/${t.gateway.namespace}/${t.gateway.name}`);
    if (t.gatewayClass !== undefined) keys.push(`GatewayClass/${this.rootNamespace}/${t.gatewayClass}`);
    for (const s of t.services ?? []) keys.push(`Service/${s.namespace}/${s.name}`);
    const out: CompiledAuthorizationPolicy[] = [];
    for (const k of keys) for (const p of this.targeted.get(k) ?? []) if (!out.includes(p)) out.push(p);
    const bundle = bundlePolicies(out);
    this.targetCache.set(t, { version: this.changes, bundle });
    return bundle;
  }

  private requestAuthnFor(
    pick: (r: RequestAuthentication) => boolean,
    namespaces: readonly string[],
  ): JwtProvider[] {
    const list: RequestAuthentication[] = [];
    for (const ns of namespaces)
      for (const r of this.requestAuthn.get(ns)?.values() ?? []) if (pick(r)) list.push(r);
    return compileJwtRules(list);
  }

  /** JWT providers for a workload (mesh-wide, namespace-wide and selector RequestAuthentications). */
  jwtProvidersForWorkload(w: WorkloadRef): JwtProvider[] {
    const nss = w.namespace === this.rootNamespace ? [w.namespace] : [this.rootNamespace, w.namespace];
    return this.requestAuthnFor(
      (r) => r.targetRefs.length === 0 && selectorMatches(r.selector, w.labels),
      nss,
    );
  }

  /** JWT providers bound by targetRef to a waypoint/gateway or its services. */
  jwtProvidersForTargets(t: TargetsRef): JwtProvider[] {
    const nss = new Set<string>();
    if (t.gateway !== undefined) nss.add(t.gateway.namespace);
    for (const s of t.services ?? []) nss.add(s.namespace);
    const hit = (r: RequestAuthentication) =>
      r.targetRefs.some(
        (ref) =>
          (ref.kind === 'Gateway' && t.gateway?.namespace === ref.namespace && t.gateway.name === ref.name) ||
          ((ref.kind === 'Service' || ref.kind === 'ServiceEntry') &&
            (t.services ?? []).some((s) => s.namespace === ref.namespace && s.name === ref.name)),
      );
    return this.requestAuthnFor(hit, [...nss]);
  }

  private peerList(namespace: string): PeerAuthentication[] {
    return [
      ...(this.peer.get(this.rootNamespace)?.values() ?? []),
      ...(namespace === this.rootNamespace ? [] : (this.peer.get(namespace)?.values() ?? [])),
    ];
  }

  /** The mTLS mode in force on a workload's port. */
  peerAuthentication(w: WorkloadRef, port: number): EffectivePeerAuthentication {
    return effectivePeerAuthentication(w, port, this.peerList(w.namespace), this.rootNamespace);
  }

  /**
   * Everything the discovery server sends as istio.security.Authorization: projected policies,
   * the static STRICT policy, and converted port-level PeerAuthentications.
   */
  l4Authorizations(): L4Authorization[] {
    const out: L4Authorization[] = [staticStrictPolicy(this.rootNamespace)];
    for (const m of this.authz.values()) {
      for (const p of m.values()) {
        const a = projectL4(p.policy, this.rootNamespace, this.trust).authorization;
        if (a !== null) out.push(a);
      }
    }
    for (const [ns, m] of this.peer) {
      const levels = peerAuthenticationLevels(
        { namespace: ns, labels: {} },
        this.peerList(ns),
        this.rootNamespace,
      );
      for (const pa of m.values()) {
        const a = convertPeerAuthentication(pa, levels, this.rootNamespace);
        if (a !== null) out.push(a);
      }
    }
    return out;
  }

  /** `namespace/name` of the selector-scoped L4 policies a workload lists (Workload.authorization_policies). */
  l4PolicyKeysForWorkload(w: WorkloadRef): string[] {
    const keys: string[] = [];
    for (const b of [
      this.bucket(this.rootNamespace),
      w.namespace === this.rootNamespace ? EMPTY_BUCKET : this.bucket(w.namespace),
    ]) {
      for (const p of b.selector) {
        const act = p.policy.action;
        if ((act === 'ALLOW' || act === 'DENY') && selectorMatches(p.policy.selector, w.labels))
          keys.push(p.key);
      }
    }
    keys.push(...peerAuthenticationPolicyKeys(w, this.peerList(w.namespace), this.rootNamespace));
    return keys.sort();
  }
}

/** Builds a PolicySet from lists of plain objects; invalid ones are reported in `problems` and skipped. */
export function compilePolicies(input: PolicySetInput): PolicySet {
  const trust = {
    ...(input.trustDomain === undefined ? {} : { trustDomain: input.trustDomain }),
    ...(input.trustDomainAliases === undefined ? {} : { trustDomainAliases: input.trustDomainAliases }),
  };
  const set = new PolicySet(input.rootNamespace, trust);
  for (const p of input.authorizationPolicies ?? []) set.upsert(p);
  for (const p of input.peerAuthentications ?? []) set.upsert(p);
  for (const p of input.requestAuthentications ?? []) set.upsert(p);
  return set;
}
