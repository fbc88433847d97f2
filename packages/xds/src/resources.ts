/**
 * DiscoveryState (the plain model) → the encoded resources the server serves, per type URL. The version of
 * each resource is a hash of its bytes, so recomputing an unchanged object pushes nothing, and a client
 * that reconnects with initial_resource_versions receives only what changed while it was away.
 */
import { hash } from 'node:crypto';
import {
  type Authorization,
  type ConfigObject,
  type DiscoveryState,
  type Service,
  serviceKey,
  type Workload,
} from '@weft/config';
import { encodeAddress, encodeAuthorization, encodeConfig } from './convert.js';
import type { ServerResource } from './server.js';
import { TYPE_ADDRESS, TYPE_AUTHORIZATION, TYPE_CONFIG } from './types.js';

export function resourceOf(body: Uint8Array, meta?: Readonly<Record<string, string>>): ServerResource {
  const version = hash('sha1', body, 'base64url').slice(0, 16);
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
  for (const [uid, w] of state.workloads) addresses.set(uid, encodeWorkload(w));
  for (const s of state.services.values()) addresses.set(serviceKey(s), encodeService(s));
  const authorizations = new Map<string, ServerResource>();
  for (const [name, a] of state.authorizations) authorizations.set(name, encodeAuthz(a));
  const configs = new Map<string, ServerResource>();
  for (const [name, c] of state.configs) configs.set(name, encodeCfg(c));
  return new Map([
    [TYPE_ADDRESS, addresses],
    [TYPE_AUTHORIZATION, authorizations],
    [TYPE_CONFIG, configs],
  ]);
}

/** What changed for one type URL between two states: resources to (re)send and names that are gone. */
export interface ResourceDelta {
  readonly upserts: Map<string, ServerResource>;
  readonly removed: string[];
}

function diffMap<T extends object>(
  previous: ReadonlyMap<string, T> | undefined,
  next: ReadonlyMap<string, T>,
  nameOf: (key: string, value: T) => string,
  encode: (value: T) => ServerResource,
  delta: ResourceDelta,
): void {
  for (const [key, value] of next) {
    // Translation hands back the same object for anything unchanged: identity is the whole comparison.
    if (previous?.get(key) === value) continue;
    delta.upserts.set(nameOf(key, value), encode(value));
  }
  if (previous === undefined) return;
  for (const [key, value] of previous) if (!next.has(key)) delta.removed.push(nameOf(key, value));
}

const encodeWorkload = (w: Workload) =>
  cached(w, () =>
    resourceOf(encodeAddress.workload(w), { kind: 'Workload', node: w.node, namespace: w.namespace }),
  );
const encodeService = (s: Service) =>
  cached(s, () => resourceOf(encodeAddress.service(s), { kind: 'Service', namespace: s.namespace }));
const encodeAuthz = (a: Authorization) =>
  cached(a, () => resourceOf(encodeAuthorization(a), { kind: 'Authorization', namespace: a.namespace }));
const encodeCfg = (c: ConfigObject) =>
  cached(c, () => resourceOf(encodeConfig(c), { kind: c.kind, namespace: c.namespace }));

/**
 * The resources that differ between two states (all of `next` when there is no previous one), per type URL,
 * encoding only those: after one edit this costs a pass of identity checks plus the changed objects.
 */
export function diffStates(
  previous: DiscoveryState | undefined,
  next: DiscoveryState,
): Map<string, ResourceDelta> {
  const delta = () => ({ upserts: new Map<string, ServerResource>(), removed: [] as string[] });
  const addresses = delta();
  const authorizations = delta();
  const configs = delta();
  const byKey = (key: string) => key;
  diffMap(previous?.workloads, next.workloads, byKey, encodeWorkload, addresses);
  diffMap(previous?.services, next.services, (_k, s) => serviceKey(s), encodeService, addresses);
  diffMap(previous?.authorizations, next.authorizations, byKey, encodeAuthz, authorizations);
  diffMap(previous?.configs, next.configs, byKey, encodeCfg, configs);
  return new Map([
    // A name that moved between workloads and services in one step is an update, not a removal.
    [
      TYPE_ADDRESS,
      { upserts: addresses.upserts, removed: addresses.removed.filter((n) => !addresses.upserts.has(n)) },
    ],
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
