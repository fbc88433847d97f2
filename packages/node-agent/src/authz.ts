/**
 * L4 authorization at the destination (ztunnel's assert_rbac): the policies that apply to a workload
 * are the global ones (root namespace), its namespace's, and the selector policies it lists; the
 * decision comes from @weft/policy. STRICT PeerAuthentication arrives from pilot as a DENY policy for
 * connections without an identity, so the plaintext path needs nothing else.
 */
import type { Authorization, Workload } from '@weft/config';
import { evaluateL4, type L4Authorization, type L4Decision } from '@weft/policy';
import type { DiscoveryView } from './discovery.js';

export interface InboundAttributes {
  /** SPIFFE ID of the peer (HBONE); undefined on plaintext. */
  sourceIdentity: string | undefined;
  sourceIp: string;
  destinationIp: string;
  destinationPort: number;
}

export type Decision = L4Decision;

export function policiesFor(view: DiscoveryView, w: Workload): Authorization[] {
  const out: Authorization[] = [];
  const selected = new Set(w.authorizationPolicies);
  for (const [key, a] of view.authorizations) {
    if (a.scope === 'GLOBAL' || (a.scope === 'NAMESPACE' && a.namespace === w.namespace) || selected.has(key))
      out.push(a);
  }
  return out;
}

export function authorize(view: DiscoveryView, w: Workload, attrs: InboundAttributes): Decision {
  // The config model and the policy model are the same shape (presence differs only in its marker).
  const policies = policiesFor(view, w) as unknown as L4Authorization[];
  return evaluateL4(policies, {
    ...(attrs.sourceIdentity === undefined ? {} : { sourceIdentity: attrs.sourceIdentity }),
    sourceIp: attrs.sourceIp,
    destinationIp: attrs.destinationIp,
    destinationPort: attrs.destinationPort,
  });
}
