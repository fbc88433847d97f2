/**
 * AuthorizationPolicy → L4 Authorization, as istiod does for ztunnel: targetRef policies and
 * non-ALLOW/DENY actions are not sent; an ALLOW rule with HTTP attributes is dropped (never matches);
 * a DENY rule loses its HTTP parts (denies on the L4 part alone, more restrictive).
 */
import { operationHasHttp, sourceHasHttp } from './compile.js';
import { parseCidr } from './ip.js';
import {
  emptyMatch,
  type L4Address,
  type L4Authorization,
  type L4Clause,
  type L4Rule,
  type L4StringMatch,
} from './l4-model.js';
import { applyTrustDomainAliases, type TrustDomainOptions } from './trust-domain.js';
import type { AuthorizationPolicy, AuthzRule } from './types.js';
import { parsePort } from './validate-common.js';
import { L4_WHEN_KEYS } from './when-keys.js';

export interface L4Projection {
  /** null when the policy is not for the node agent (targetRef, AUDIT, CUSTOM). */
  readonly authorization: L4Authorization | null;
  /** Why parts were dropped, for status/analyze output. */
  readonly warnings: readonly string[];
}

export function toStringMatches(values: readonly string[]): L4StringMatch[] {
  return values.map((v) => {
    if (v === '*') return { presence: {} };
    if (v.startsWith('*')) return { suffix: v.slice(1) };
    if (v.endsWith('*')) return { prefix: v.slice(0, -1) };
    return { exact: v };
  });
}

export function toAddresses(values: readonly string[]): L4Address[] {
  const out: L4Address[] = [];
  for (const v of values) {
    const r = parseCidr(v);
    if (r !== null) out.push({ address: r.bytes, length: r.length });
  }
  return out;
}

export function toPorts(values: readonly string[]): number[] {
  const out: number[] = [];
  for (const v of values) {
    const n = parsePort(v);
    if (n !== null) out.push(n);
  }
  return out;
}

function toAccounts(values: readonly string[], namespace: string) {
  return values.map((v) => {
    const slash = v.indexOf('/');
    return slash === -1
      ? { namespace, serviceAccount: v }
      : { namespace: v.slice(0, slash), serviceAccount: v.slice(slash + 1) };
  });
}

function whenValues(key: string, values: readonly string[], not: boolean) {
  switch (key) {
    case 'source.namespace':
      return emptyMatch({ [not ? 'notNamespaces' : 'namespaces']: toStringMatches(values) });
    case 'source.principal':
      return emptyMatch({ [not ? 'notPrincipals' : 'principals']: toStringMatches(values) });
    case 'source.ip':
      return emptyMatch({ [not ? 'notSourceIps' : 'sourceIps']: toAddresses(values) });
    case 'destination.ip':
      return emptyMatch({ [not ? 'notDestinationIps' : 'destinationIps']: toAddresses(values) });
    case 'destination.port':
      return emptyMatch({ [not ? 'notDestinationPorts' : 'destinationPorts']: toPorts(values) });
    default:
      return emptyMatch();
  }
}

/** One policy rule → one L4 rule, or null when an ALLOW rule needs HTTP. */
function projectRule(rule: AuthzRule, allow: boolean, namespace: string, http: Set<string>): L4Rule | null {
  let needsHttp = false;
  const clauses: L4Clause[] = [];
  if (rule.to.length > 0) {
    clauses.push({
      matches: rule.to.map((o) => {
        if (operationHasHttp(o)) {
          needsHttp = true;
          for (const f of ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const)
            if (o[f].length > 0) http.add(f);
        }
        return emptyMatch({ destinationPorts: toPorts(o.ports), notDestinationPorts: toPorts(o.notPorts) });
      }),
    });
  }
  if (rule.from.length > 0) {
    clauses.push({
      matches: rule.from.map((s) => {
        if (sourceHasHttp(s)) {
          needsHttp = true;
          for (const f of [
            'requestPrincipals',
            'notRequestPrincipals',
            'remoteIpBlocks',
            'notRemoteIpBlocks',
          ] as const)
            if (s[f].length > 0) http.add(f);
        }
        return emptyMatch({
          sourceIps: toAddresses(s.ipBlocks),
          notSourceIps: toAddresses(s.notIpBlocks),
          namespaces: toStringMatches(s.namespaces),
          notNamespaces: toStringMatches(s.notNamespaces),
          serviceAccounts: toAccounts(s.serviceAccounts, namespace),
          notServiceAccounts: toAccounts(s.notServiceAccounts, namespace),
          principals: toStringMatches(s.principals),
          notPrincipals: toStringMatches(s.notPrincipals),
        });
      }),
    });
  }
  for (const w of rule.when) {
    if (!L4_WHEN_KEYS.has(w.key)) {
      needsHttp = true;
      http.add(w.key);
    }
    // values and notValues of one condition land in one match (AND), as istiod does
    const pos = whenValues(w.key, w.values, false);
    const neg = whenValues(w.key, w.notValues, true);
    clauses.push({ matches: [mergeMatch(pos, neg)] });
  }
  if (allow && needsHttp) return null;
  return { clauses };
}

function mergeMatch(a: ReturnType<typeof emptyMatch>, b: ReturnType<typeof emptyMatch>) {
  const out = emptyMatch() as unknown as Record<string, unknown[]>;
  for (const k of Object.keys(out)) {
    out[k] = [
      ...(a as unknown as Record<string, unknown[]>)[k]!,
      ...(b as unknown as Record<string, unknown[]>)[k]!,
    ];
  }
  return out as unknown as ReturnType<typeof emptyMatch>;
}

export function projectL4(
  original: AuthorizationPolicy,
  rootNamespace = 'istio-system',
  options?: TrustDomainOptions,
): L4Projection {
  const policy = applyTrustDomainAliases(original, options);
  // targetRef policies are the waypoint's: not a problem, just not for the node agent (no warning)
  if (policy.targetRefs.length > 0) return { authorization: null, warnings: [] };
  if (policy.action !== 'ALLOW' && policy.action !== 'DENY') {
    return { authorization: null, warnings: [`the node agent does not support the ${policy.action} action`] };
  }
  const scope =
    policy.selector !== undefined
      ? 'WORKLOAD_SELECTOR'
      : policy.namespace === rootNamespace
        ? 'GLOBAL'
        : 'NAMESPACE';
  const allow = policy.action === 'ALLOW';
  const http = new Set<string>();
  const rules: L4Rule[] = [];
  for (const r of policy.rules) {
    const projected = projectRule(r, allow, policy.namespace, http);
    if (projected !== null) rules.push(projected);
  }
  const warnings =
    http.size === 0
      ? []
      : [
          `the node agent does not enforce HTTP attributes (found: ${[...http].sort().join(', ')}). ${
            allow
              ? 'Within an ALLOW policy, rules matching HTTP attributes are omitted.'
              : 'A DENY policy with HTTP attributes is enforced without the HTTP rules.'
          } This is more restrictive than requested; use a waypoint to enforce HTTP rules.`,
        ];
  return {
    authorization: {
      name: policy.name,
      namespace: policy.namespace,
      scope,
      action: policy.action,
      rules,
      dryRun: policy.dryRun,
    },
    warnings,
  };
}
