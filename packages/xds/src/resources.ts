/**
 * DiscoveryState (the plain model) → the encoded resources the server serves, per type URL. The version of
 * each resource is a hash of its bytes, so recomputing an unchanged object pushes nothing, and a client
 * that reconnects with initial_resource_versions receives only what changed while it was away.
 */
import { createHash } from 'node:crypto';
import { type DiscoveryState, serviceKey } from '@weft/config';
import { encodeAddress, encodeAuthorization, encodeConfig } from './convert.js';
import type { ServerResource } from './server.js';
import { TYPE_ADDRESS, TYPE_AUTHORIZATION, TYPE_CONFIG } from './types.js';

export function resourceOf(body: Uint8Array, meta?: Readonly<Record<string, string>>): ServerResource {
  const version = createHash('sha1').update(body).digest('base64url').slice(0, 16);
  return meta === undefined ? { version, body } : { version, body, meta };
}

/** Encoded resources by the object they encode: an object translation handed back unchanged is not re-encoded. */
const encoded = new WeakMap<object, ServerResource>();

function cached(obj: object, make: () => ServerResource): ServerResource {
  let r = encoded.get(obj);
  if (r === undefined) {
    r = make();
    encoded.set(obj, r);
  }
  return r;
}

export function stateToResources(state: DiscoveryState): Map<string, Map<string, ServerResource>> {
  const addresses = new Map<string, ServerResource>();
  for (const [uid, w] of state.workloads)
    addresses.set(
      uid,
      cached(w, () =>
        resourceOf(encodeAddress.workload(w), { kind: 'Workload', node: w.node, namespace: w.namespace }),
      ),
    );
  for (const s of state.services.values())
    addresses.set(
      serviceKey(s),
      cached(s, () => resourceOf(encodeAddress.service(s), { kind: 'Service', namespace: s.namespace })),
    );
  const authorizations = new Map<string, ServerResource>();
  for (const [name, a] of state.authorizations)
    authorizations.set(
      name,
      cached(a, () => resourceOf(encodeAuthorization(a), { kind: 'Authorization', namespace: a.namespace })),
    );
  const configs = new Map<string, ServerResource>();
  for (const [name, c] of state.configs)
    configs.set(
      name,
      cached(c, () => resourceOf(encodeConfig(c), { kind: c.kind, namespace: c.namespace })),
    );
  return new Map([
    [TYPE_ADDRESS, addresses],
    [TYPE_AUTHORIZATION, authorizations],
    [TYPE_CONFIG, configs],
  ]);
}

/**
 * The default per-role filter: node agents get addresses and L4 policies (they subscribe to nothing else);
 * waypoints get raw config except Secrets; gateways get everything, Secrets included.
 */
export function roleFilter(role: string, typeUrl: string, resource: ServerResource): boolean {
  if (typeUrl !== TYPE_CONFIG) return true;
  if (resource.meta?.kind === 'Secret') return role === 'gateway';
  return role === 'waypoint' || role === 'gateway';
}
