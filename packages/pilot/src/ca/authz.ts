import { WeftError } from '@weft/telemetry';
import type { Caller } from './authn.js';

/**
 * What the CA needs from discovery: which identities (SPIFFE IDs of the service accounts of pods scheduled
 * there) a node may hold. pilot's discovery state implements it.
 */
export interface WorkloadPlacement {
  identitiesOnNode(node: string): ReadonlySet<string>;
}

/** A placement from a fixed map, for tests and static setups. */
export function staticPlacement(byNode: Readonly<Record<string, readonly string[]>>): WorkloadPlacement {
  const sets = new Map(Object.entries(byNode).map(([n, ids]) => [n, new Set(ids)]));
  const empty: ReadonlySet<string> = new Set();
  return { identitiesOnNode: (node) => sets.get(node) ?? empty };
}

/**
 * The issuing rules: a node agent only for pods on its own node; a workload (waypoint, gateway) only for
 * itself. Throws WEFT_CA_NOT_ON_NODE / WEFT_CA_NOT_OWN_IDENTITY naming the rule.
 */
export function authorizeIssue(caller: Caller, identity: string, placement: WorkloadPlacement): void {
  if (caller.kind === 'node') {
    if (!placement.identitiesOnNode(caller.node).has(identity))
      throw new WeftError(
        'WEFT_CA_NOT_ON_NODE',
        `rule "node agents get identities of pods on their own node": no pod on node ${caller.node} runs as ${identity}`,
        { details: { node: caller.node, identity } },
      );
    return;
  }
  if (caller.identity !== identity)
    throw new WeftError(
      'WEFT_CA_NOT_OWN_IDENTITY',
      `rule "a workload gets only its own identity": ${caller.identity} asked for ${identity}`,
      { details: { caller: caller.identity, identity } },
    );
}
