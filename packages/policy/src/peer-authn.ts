/**
 * PeerAuthentication for ambient, as istiod computes it for ztunnel: precedence workload (selector,
 * not in the root namespace) > namespace > root namespace, the oldest policy winning a tie; UNSET
 * inherits; portLevelMtls overrides per port. STRICT becomes a DENY of connections without a peer
 * identity (plaintext).
 */
import { emptyMatch, type L4Authorization, type L4Clause, type L4Rule } from './l4-model.js';
import { selectorMatches } from './selector.js';
import type { MtlsMode, PeerAuthentication, WorkloadRef } from './types.js';

export const STATIC_STRICT_POLICY_NAME = 'istio_converted_static_strict';
export const CONVERTED_PEER_AUTHN_PREFIX = 'converted_peer_authentication_';

export type EffectiveMtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

export interface EffectivePeerAuthentication {
  readonly mode: EffectiveMtlsMode;
  /** `namespace/name` of the policy that set the mode, or null for the mesh default (PERMISSIVE). */
  readonly policy: string | null;
  readonly level: 'default' | 'mesh' | 'namespace' | 'workload' | 'port';
}

function older(a: PeerAuthentication, b: PeerAuthentication | undefined): boolean {
  if (b === undefined) return true;
  const ta = a.creationTimestamp ?? '';
  const tb = b.creationTimestamp ?? '';
  if (ta !== tb) return ta !== '' && (tb === '' || Date.parse(ta) < Date.parse(tb));
  return `${a.namespace}/${a.name}` < `${b.namespace}/${b.name}`; // stable tie-break
}

export interface PeerAuthenticationLevels {
  readonly mesh?: PeerAuthentication;
  readonly namespace?: PeerAuthentication;
  readonly workload?: PeerAuthentication;
}

/** Picks the mesh, namespace and workload policies that apply to a workload (oldest wins each level). */
export function peerAuthenticationLevels(
  workload: WorkloadRef,
  policies: readonly PeerAuthentication[],
  rootNamespace = 'istio-system',
): PeerAuthenticationLevels {
  let mesh: PeerAuthentication | undefined;
  let ns: PeerAuthentication | undefined;
  let wl: PeerAuthentication | undefined;
  for (const p of policies) {
    const hasSelector = p.selector !== undefined && Object.keys(p.selector.matchLabels).length > 0;
    if (!hasSelector) {
      if (p.namespace === rootNamespace) {
        if (older(p, mesh)) mesh = p;
      } else if (p.namespace === workload.namespace && older(p, ns)) ns = p;
    } else if (
      p.namespace !== rootNamespace &&
      p.namespace === workload.namespace &&
      selectorMatches(p.selector, workload.labels) &&
      older(p, wl)
    ) {
      wl = p;
    }
  }
  return {
    ...(mesh === undefined ? {} : { mesh }),
    ...(ns === undefined ? {} : { namespace: ns }),
    ...(wl === undefined ? {} : { workload: wl }),
  };
}

/** The mTLS mode in force for a workload's port: what the node agent needs on 15006. */
export function effectivePeerAuthentication(
  workload: WorkloadRef,
  port: number,
  policies: readonly PeerAuthentication[],
  rootNamespace = 'istio-system',
): EffectivePeerAuthentication {
  const lv = peerAuthenticationLevels(workload, policies, rootNamespace);
  let out: EffectivePeerAuthentication = { mode: 'PERMISSIVE', policy: null, level: 'default' };
  const apply = (
    p: PeerAuthentication | undefined,
    mode: MtlsMode | undefined,
    level: EffectivePeerAuthentication['level'],
  ) => {
    if (p !== undefined && mode !== undefined && mode !== 'UNSET')
      out = { mode, policy: `${p.namespace}/${p.name}`, level };
  };
  apply(lv.mesh, lv.mesh?.mode, 'mesh');
  apply(lv.namespace, lv.namespace?.mode, 'namespace');
  apply(lv.workload, lv.workload?.mode, 'workload');
  apply(lv.workload, lv.workload?.portLevelMtls.get(port), 'port');
  return out;
}

/** The DENY-plaintext policy every effectively-STRICT workload references. */
export function staticStrictPolicy(rootNamespace = 'istio-system'): L4Authorization {
  return {
    name: STATIC_STRICT_POLICY_NAME,
    namespace: rootNamespace,
    scope: 'WORKLOAD_SELECTOR',
    action: 'DENY',
    rules: [{ clauses: [{ matches: [emptyMatch({ notPrincipals: [{ presence: {} }] })] }] }],
    dryRun: false,
  };
}

const isStrict = (p: PeerAuthentication | undefined) => p?.mode === 'STRICT';
const isUnset = (p: PeerAuthentication | undefined) => p === undefined || p.mode === 'UNSET';
const plaintext = () => ({ matches: [emptyMatch({ notPrincipals: [{ presence: {} }] })] });

/**
 * A workload PeerAuthentication with portLevelMtls → its L4 DENY policy (null when the static STRICT
 * policy or nothing expresses it). `levels` are the namespace and mesh policies of its namespace.
 */
export function convertPeerAuthentication(
  pa: PeerAuthentication,
  levels: { readonly namespace?: PeerAuthentication; readonly mesh?: PeerAuthentication },
  rootNamespace = 'istio-system',
): L4Authorization | null {
  if (pa.namespace === rootNamespace || pa.selector === undefined || pa.portLevelMtls.size === 0) return null;
  const ns = levels.namespace;
  const root = levels.mesh;
  const parentStrict = isStrict(ns) || (isUnset(ns) && isStrict(root));
  const clauses: L4Clause[] = [];
  const rules: L4Rule[] = [];
  if (pa.mode === 'STRICT') clauses.push(plaintext());
  let nonStrictPort = false;
  for (const port of [...pa.portLevelMtls.keys()].sort((a, b) => a - b)) {
    const m = pa.portLevelMtls.get(port)!;
    if (m === 'STRICT') {
      if (pa.mode === 'STRICT' || (pa.mode === 'UNSET' && parentStrict)) continue;
      rules.push({
        clauses: [{ matches: [emptyMatch({ notPrincipals: [{ presence: {} }], destinationPorts: [port] })] }],
      });
    } else if (m === 'PERMISSIVE' || m === 'DISABLE') {
      if (pa.mode === 'PERMISSIVE' || pa.mode === 'DISABLE') continue;
      if (pa.mode === 'UNSET' && !parentStrict) continue;
      nonStrictPort = true;
      clauses.push({ matches: [emptyMatch({ notDestinationPorts: [port] })] });
    }
  }
  if (pa.mode === 'STRICT' && !nonStrictPort) return null;
  if (pa.mode !== 'STRICT' && parentStrict && nonStrictPort) clauses.push(plaintext());
  if (clauses.length > 0 && (pa.mode === 'STRICT' || nonStrictPort)) rules.push({ clauses });
  if (rules.length === 0) return null;
  return {
    name: `${CONVERTED_PEER_AUTHN_PREFIX}${pa.name}`,
    namespace: pa.namespace,
    scope: 'WORKLOAD_SELECTOR',
    action: 'DENY',
    rules,
    dryRun: false,
  };
}

/**
 * The L4 policy keys (`namespace/name`) a workload must reference for PeerAuthentication: the static
 * STRICT policy when the workload is effectively STRICT, and/or its converted port-level policy.
 */
export function peerAuthenticationPolicyKeys(
  workload: WorkloadRef,
  policies: readonly PeerAuthentication[],
  rootNamespace = 'istio-system',
): string[] {
  const lv = peerAuthenticationLevels(workload, policies, rootNamespace);
  let strict = isStrict(lv.mesh);
  if (!isUnset(lv.namespace)) strict = isStrict(lv.namespace);
  const wl = lv.workload;
  let portKey = '';
  if (wl !== undefined) {
    if (wl.mode === 'STRICT') strict = true;
    if (wl.mode === 'PERMISSIVE' || wl.mode === 'DISABLE') strict = false;
    const modes = [...wl.portLevelMtls.values()];
    const key = `${wl.namespace}/${CONVERTED_PEER_AUTHN_PREFIX}${wl.name}`;
    if (modes.length > 0) {
      if (wl.mode === 'STRICT') {
        if (modes.some((m) => m === 'PERMISSIVE' || m === 'DISABLE')) {
          portKey = key;
          strict = false;
        }
      } else if (wl.mode === 'PERMISSIVE' || wl.mode === 'DISABLE') {
        if (modes.includes('STRICT')) portKey = key;
      } else if (strict) {
        if (modes.includes('PERMISSIVE')) {
          portKey = key;
          strict = false;
        }
      } else {
        strict = false;
        if (modes.includes('STRICT')) portKey = key;
      }
    }
  }
  const out: string[] = [];
  if (strict) out.push(`${rootNamespace}/${STATIC_STRICT_POLICY_NAME}`);
  if (portKey !== '') out.push(portKey);
  return out.sort();
}
