/**
 * The L7 decision in Istio's order: CUSTOM (unsupported → deny when it matches), DENY, then ALLOW
 * (none → allow; else one must match). AUDIT and dry-run policies are only reported.
 */
import type { RequestAttributes } from './attributes.js';
import type { CompiledAuthorizationPolicy } from './compile.js';
import { buildContext, firstMatchingRule, type MatchContext } from './match.js';
import type { AuthorizationAction } from './types.js';

export type DecisionKind =
  /** No ALLOW/DENY/CUSTOM policy applies. */
  | 'no-policies'
  /** Only DENY policies apply and none matched. */
  | 'no-allow-policies'
  | 'allow-matched'
  | 'deny-matched'
  /** A CUSTOM policy matched; without an external authorizer that is a deny. */
  | 'custom-unsupported'
  | 'no-allow-matched';

export interface PolicyMatch {
  /** `namespace/name`. */
  readonly policy: string;
  readonly namespace: string;
  readonly name: string;
  readonly action: AuthorizationAction;
  readonly ruleIndex: number;
}

export interface Decision {
  readonly allowed: boolean;
  readonly kind: DecisionKind;
  /** For logs and the denial debug header: `denied by prod/deny-teapot rule 0`, `no policies`. */
  readonly reason: string;
  /** The deciding policy, when one decided. */
  readonly policy?: PolicyMatch;
  readonly ruleIndex?: number;
  /** Dry-run policies that matched (not enforced). */
  readonly dryRunMatches: readonly PolicyMatch[];
  /** AUDIT policies that matched (logged only). */
  readonly auditMatches: readonly PolicyMatch[];
  /**
   * Present when dry-run policies apply: the decision had they been enforced (Istio's shadow
   * result), so an operator can see what a policy would do before turning it on.
   */
  readonly dryRun?: { readonly allowed: boolean; readonly kind: DecisionKind; readonly reason: string };
}

/** The policies of one workload or target, split by action once (PolicySet caches these). */
export interface PolicyBundle {
  readonly all: readonly CompiledAuthorizationPolicy[];
  readonly custom: readonly CompiledAuthorizationPolicy[];
  readonly deny: readonly CompiledAuthorizationPolicy[];
  readonly allow: readonly CompiledAuthorizationPolicy[];
  readonly audit: readonly CompiledAuthorizationPolicy[];
  readonly dryRun: readonly CompiledAuthorizationPolicy[];
}

export function bundlePolicies(all: readonly CompiledAuthorizationPolicy[]): PolicyBundle {
  const b = { all, custom: [], deny: [], allow: [], audit: [], dryRun: [] } as {
    all: readonly CompiledAuthorizationPolicy[];
    custom: CompiledAuthorizationPolicy[];
    deny: CompiledAuthorizationPolicy[];
    allow: CompiledAuthorizationPolicy[];
    audit: CompiledAuthorizationPolicy[];
    dryRun: CompiledAuthorizationPolicy[];
  };
  for (const p of all) {
    if (p.dryRun) b.dryRun.push(p);
    else if (p.action === 'CUSTOM') b.custom.push(p);
    else if (p.action === 'DENY') b.deny.push(p);
    else if (p.action === 'ALLOW') b.allow.push(p);
    else b.audit.push(p);
  }
  return b;
}

const NONE: readonly PolicyMatch[] = Object.freeze([]);

function matchOf(p: CompiledAuthorizationPolicy, ruleIndex: number): PolicyMatch {
  return { policy: p.key, namespace: p.policy.namespace, name: p.policy.name, action: p.action, ruleIndex };
}

function collect(list: readonly CompiledAuthorizationPolicy[], c: MatchContext): readonly PolicyMatch[] {
  let out: PolicyMatch[] | null = null;
  for (const p of list) {
    const i = firstMatchingRule(p, c);
    if (i >= 0) {
      out ??= [];
      out.push(matchOf(p, i));
    }
  }
  return out ?? NONE;
}

interface Outcome {
  readonly allowed: boolean;
  readonly kind: DecisionKind;
  readonly reason: string;
  readonly match?: PolicyMatch;
}

function outcome(allowed: boolean, kind: DecisionKind, reason: string, match?: PolicyMatch): Outcome {
  return match === undefined ? { allowed, kind, reason } : { allowed, kind, reason, match };
}

/** CUSTOM, DENY, ALLOW over the enforced lists of a bundle. */
function decide(b: PolicyBundle, c: MatchContext): Outcome {
  for (const p of b.custom) {
    const i = firstMatchingRule(p, c);
    if (i >= 0) {
      const reason = `denied by ${p.key} rule ${i}: CUSTOM provider "${p.policy.provider ?? ''}" is not supported`;
      return outcome(false, 'custom-unsupported', reason, matchOf(p, i));
    }
  }
  for (const p of b.deny) {
    const i = firstMatchingRule(p, c);
    if (i >= 0) return outcome(false, 'deny-matched', `denied by ${p.key} rule ${i}`, matchOf(p, i));
  }
  if (b.allow.length === 0) {
    return b.deny.length + b.custom.length === 0
      ? outcome(true, 'no-policies', 'no policies')
      : outcome(true, 'no-allow-policies', 'no allow policies, and no deny policy matched');
  }
  for (const p of b.allow) {
    const i = firstMatchingRule(p, c);
    if (i >= 0) return outcome(true, 'allow-matched', `allowed by ${p.key} rule ${i}`, matchOf(p, i));
  }
  return outcome(false, 'no-allow-matched', 'allow policies exist, but none matched');
}

/** The bundle as if its dry-run policies were enforced (cached per bundle). */
const shadows = new WeakMap<PolicyBundle, PolicyBundle>();
function shadowOf(b: PolicyBundle): PolicyBundle {
  let s = shadows.get(b);
  if (s === undefined) {
    const enforced = b.all.map((p) => (p.dryRun ? { ...p, dryRun: false } : p));
    s = bundlePolicies(enforced);
    shadows.set(b, s);
  }
  return s;
}

function isBundle(x: PolicyBundle | readonly CompiledAuthorizationPolicy[]): x is PolicyBundle {
  return !Array.isArray(x);
}

/** Decides one request against the policies that apply to its destination. */
export function evaluate(
  policies: PolicyBundle | readonly CompiledAuthorizationPolicy[],
  request: RequestAttributes,
): Decision {
  const b = isBundle(policies) ? policies : bundlePolicies(policies);
  const c = buildContext(request);
  const dryRunMatches = b.dryRun.length === 0 ? NONE : collect(b.dryRun, c);
  const auditMatches = b.audit.length === 0 ? NONE : collect(b.audit, c);
  const o = decide(b, c);
  const base =
    o.match === undefined
      ? { allowed: o.allowed, kind: o.kind, reason: o.reason, dryRunMatches, auditMatches }
      : {
          allowed: o.allowed,
          kind: o.kind,
          reason: o.reason,
          policy: o.match,
          ruleIndex: o.match.ruleIndex,
          dryRunMatches,
          auditMatches,
        };
  if (b.dryRun.length === 0) return base;
  const shadow = decide(shadowOf(b), c);
  return { ...base, dryRun: { allowed: shadow.allowed, kind: shadow.kind, reason: shadow.reason } };
}
