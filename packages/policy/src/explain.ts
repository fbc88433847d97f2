/**
 * Explanations for `weftctl check authz` and debug endpoints: the decision plus, for every policy
 * that applies, whether it matched and which rule — so "why was I denied?" has a full answer.
 */
import type { RequestAttributes } from './attributes.js';
import type { CompiledAuthorizationPolicy } from './compile.js';
import { bundlePolicies, type Decision, evaluate, type PolicyBundle } from './evaluate.js';
import { buildContext, firstMatchingRule } from './match.js';
import type { AuthorizationAction } from './types.js';

export interface PolicyTrace {
  /** `namespace/name`. */
  readonly policy: string;
  readonly action: AuthorizationAction;
  readonly dryRun: boolean;
  /** Index of the first matching rule, or -1. */
  readonly matchedRule: number;
  readonly rules: number;
}

export interface Explanation {
  readonly decision: Decision;
  /** Every applicable policy in evaluation order: CUSTOM, DENY, ALLOW, AUDIT, dry-run. */
  readonly policies: readonly PolicyTrace[];
}

export function explain(
  policies: PolicyBundle | readonly CompiledAuthorizationPolicy[],
  request: RequestAttributes,
): Explanation {
  const b = Array.isArray(policies) ? bundlePolicies(policies) : (policies as PolicyBundle);
  const c = buildContext(request);
  const traces: PolicyTrace[] = [];
  for (const list of [b.custom, b.deny, b.allow, b.audit, b.dryRun]) {
    for (const p of list) {
      traces.push({
        policy: p.key,
        action: p.action,
        dryRun: p.dryRun,
        matchedRule: firstMatchingRule(p, c),
        rules: p.rules.length,
      });
    }
  }
  return { decision: evaluate(b, request), policies: traces };
}

/** One line per policy, for terminals: `DENY prod/deny-teapot: matched rule 0`. */
export function formatExplanation(e: Explanation): string {
  const lines = [`${e.decision.allowed ? 'ALLOW' : 'DENY'}: ${e.decision.reason}`];
  for (const t of e.policies) {
    const what = t.matchedRule >= 0 ? `matched rule ${t.matchedRule}` : `no rule matched (${t.rules} rules)`;
    lines.push(`  ${t.action}${t.dryRun ? ' (dry-run)' : ''} ${t.policy}: ${what}`);
  }
  return lines.join('\n');
}
