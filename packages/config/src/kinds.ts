/** The kinds Weft reads, by API group and kind. */

export interface KindInfo {
  readonly group: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Sent raw to waypoints/gateways (weft.config.v1.ConfigResource). */
  readonly forL7: boolean;
}

const K = (group: string, kind: string, namespaced = true, forL7 = false): KindInfo => ({
  group,
  kind,
  namespaced,
  forL7,
});

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';
export const ISTIO_NETWORKING_GROUP = 'networking.istio.io';
export const ISTIO_SECURITY_GROUP = 'security.istio.io';

export const KINDS: readonly KindInfo[] = [
  K('', 'Namespace', false),
  K('', 'Node', false),
  K('', 'Pod'),
  K('', 'ServiceAccount'),
  K('', 'Service'),
  K('', 'Secret', true, true),
  K('discovery.k8s.io', 'EndpointSlice'),
  K(GATEWAY_API_GROUP, 'Gateway', true, true),
  K(GATEWAY_API_GROUP, 'HTTPRoute', true, true),
  K(ISTIO_NETWORKING_GROUP, 'Gateway', true, true),
  K(ISTIO_NETWORKING_GROUP, 'VirtualService', true, true),
  K(ISTIO_NETWORKING_GROUP, 'DestinationRule', true, true),
  K(ISTIO_NETWORKING_GROUP, 'ServiceEntry', true, true),
  K(ISTIO_SECURITY_GROUP, 'AuthorizationPolicy', true, true),
  K(ISTIO_SECURITY_GROUP, 'PeerAuthentication', true, true),
  K(ISTIO_SECURITY_GROUP, 'RequestAuthentication', true, true),
];

const byGroupKind = new Map(KINDS.map((k) => [`${k.group}/${k.kind}`, k]));
const byGroup = new Map<string, Map<string, KindInfo>>();
for (const k of KINDS) {
  let kinds = byGroup.get(k.group);
  if (kinds === undefined) {
    kinds = new Map();
    byGroup.set(k.group, kinds);
  }
  kinds.set(k.kind, k);
}

/** kindInfo by API group (not apiVersion), without building a key string (hot loops). */
export function kindOfGroup(group: string, kind: string): KindInfo | undefined {
  return byGroup.get(group)?.get(kind);
}

/** `networking.istio.io/v1` → `networking.istio.io`; `v1` → ''. */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

export function kindInfo(apiVersion: string, kind: string): KindInfo | undefined {
  return byGroupKind.get(`${groupOf(apiVersion)}/${kind}`);
}

/** The identity of an object across files and sources: `group/Kind/namespace/name`. */
export function objectKey(group: string, kind: string, namespace: string, name: string): string {
  return `${group}/${kind}/${namespace}/${name}`;
}
