/** The type URLs Weft serves: Istio's two ambient types plus raw config for L7 consumers. */
export const TYPE_ADDRESS = 'type.googleapis.com/istio.workload.Address';
export const TYPE_AUTHORIZATION = 'type.googleapis.com/istio.security.Authorization';
export const TYPE_CONFIG = 'type.googleapis.com/weft.config.v1.ConfigResource';

export const ADS_METHOD = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

/** Who is connected, from Node.metadata; the server filters what each role receives. */
export type XdsRole = 'node' | 'waypoint' | 'gateway' | 'other';

export interface XdsNodeInfo {
  /** Node.id, e.g. ztunnel~10.0.0.5~weft-node-x.weft-system~weft-system.svc.cluster.local */
  readonly id: string;
  /** Node.metadata.NODE_NAME: the Kubernetes node this client runs on. */
  readonly nodeName: string;
  /** Node.metadata.WEFT_ROLE. */
  readonly role: XdsRole;
  /** Node.metadata.NAMESPACE (waypoints/gateways: their namespace). */
  readonly namespace: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export function parseRole(value: unknown): XdsRole {
  return value === 'node' || value === 'waypoint' || value === 'gateway' ? value : 'other';
}

/** Metadata keys a Weft client puts in Node.metadata. */
export const NODE_META = { nodeName: 'NODE_NAME', role: 'WEFT_ROLE', namespace: 'NAMESPACE' } as const;

/** Node.id the way ztunnel builds it: `<type>~<ip>~<pod>.<namespace>~<namespace>.svc.<domain>`. */
export function nodeId(
  type: string,
  ip: string,
  pod: string,
  namespace: string,
  domain = 'cluster.local',
): string {
  return `${type}~${ip}~${pod}.${namespace}~${namespace}.svc.${domain}`;
}
