/**
 * The discovery model every Weft component shares: what pilot computes from the config and what the node
 * agent and waypoint receive over xDS. Plain data (IPs as strings, CIDRs as bytes + length) that mirrors
 * Istio's istio.workload.Address and istio.security.Authorization messages field for field, so the
 * wire mapping in @weft/xds is mechanical.
 */
import type { L4Address, L4Authorization, L4Scope, L4ServiceAccountMatch, L4StringMatch } from '@weft/policy';

export type TunnelProtocol = 'NONE' | 'HBONE';
export type AppProtocol = 'UNKNOWN' | 'HTTP11' | 'HTTP2' | 'GRPC' | 'TCP' | 'TLS';
export type WorkloadType = 'DEPLOYMENT' | 'CRONJOB' | 'POD' | 'JOB';
export type WorkloadStatus = 'HEALTHY' | 'UNHEALTHY';

export interface PortMapping {
  readonly servicePort: number;
  /** 0 means "same as servicePort". */
  readonly targetPort: number;
  readonly appProtocol: AppProtocol;
}

/** An address on a network ('' is the default network). */
export interface NetworkAddress {
  readonly network: string;
  readonly ip: string;
}

/** A waypoint (or network gateway): a service by hostname, or an address, and its HBONE port (15008). */
export interface GatewayAddress {
  readonly hostname?: { readonly namespace: string; readonly hostname: string };
  readonly address?: NetworkAddress;
  readonly hboneMtlsPort: number;
}

export interface Workload {
  /** `<cluster>//Pod/<namespace>/<name>`; the xDS resource name. */
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  /** Pod IPs (status.podIPs). */
  readonly addresses: readonly string[];
  readonly network: string;
  /** HBONE for pods enrolled in ambient; NONE for pods outside the mesh. */
  readonly tunnelProtocol: TunnelProtocol;
  readonly trustDomain: string;
  readonly serviceAccount: string;
  /** The waypoint that must see this workload's inbound traffic (istio.io/use-waypoint on pod/namespace). */
  readonly waypoint?: GatewayAddress;
  /** spec.nodeName: the CA issues this workload's identity only to the agent of this node. */
  readonly node: string;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  readonly workloadType: WorkloadType;
  readonly workloadName: string;
  /** "namespace/hostname" of every service selecting this workload → the service's ports. */
  readonly services: Readonly<Record<string, readonly PortMapping[]>>;
  /** Selector policies ("namespace/name") that select this workload. */
  readonly authorizationPolicies: readonly string[];
  readonly status: WorkloadStatus;
  readonly clusterId: string;
  /** Weft: the network-namespace name of the pod in embedded mode (annotation weft.dev/netns). */
  readonly netns?: string;
}

export interface Service {
  readonly name: string;
  readonly namespace: string;
  /** name.namespace.svc.cluster.local */
  readonly hostname: string;
  /** The VIPs (spec.clusterIPs). */
  readonly addresses: readonly NetworkAddress[];
  readonly ports: readonly PortMapping[];
  readonly subjectAltNames: readonly string[];
  readonly waypoint?: GatewayAddress;
  readonly ingressUseWaypoint: boolean;
}

/**
 * The L4 authorization model is @weft/policy's (it compiles and evaluates it): the same shapes as
 * istio.security.Authorization. Re-exported here under the discovery names.
 */
export type Authorization = L4Authorization;
export type AuthorizationScope = L4Scope;
export type StringMatch = L4StringMatch;
export type IpBlock = L4Address;
export type ServiceAccountMatch = L4ServiceAccountMatch;
export type { L4Clause, L4Match, L4Rule } from '@weft/policy';

/** A raw Kubernetes/Istio object for L7 consumers (waypoints, gateways). */
export interface ConfigObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** The whole object as parsed (metadata, spec; data for Secrets). */
  readonly object: Readonly<Record<string, unknown>>;
}

/** Everything pilot serves, keyed by xDS resource name. */
export interface DiscoveryState {
  readonly workloads: ReadonlyMap<string, Workload>;
  readonly services: ReadonlyMap<string, Service>;
  readonly authorizations: ReadonlyMap<string, Authorization>;
  readonly configs: ReadonlyMap<string, ConfigObject>;
}

export function serviceKey(s: Pick<Service, 'namespace' | 'hostname'>): string {
  return `${s.namespace}/${s.hostname}`;
}

export function authorizationKey(a: Pick<Authorization, 'namespace' | 'name'>): string {
  return `${a.namespace}/${a.name}`;
}

/** `[group/]Kind/namespace/name`: `Secret/prod/cred`, `networking.istio.io/Gateway/prod/ingress`. */
export function configKey(c: Pick<ConfigObject, 'apiVersion' | 'kind' | 'namespace' | 'name'>): string {
  const slash = c.apiVersion.indexOf('/');
  const group = slash === -1 ? '' : `${c.apiVersion.slice(0, slash)}/`;
  return `${group}${c.kind}/${c.namespace}/${c.name}`;
}

export function workloadUid(clusterId: string, namespace: string, name: string): string {
  return `${clusterId}//Pod/${namespace}/${name}`;
}

/** spiffe://<td>/ns/<ns>/sa/<sa> */
export function workloadSpiffeId(w: Pick<Workload, 'trustDomain' | 'namespace' | 'serviceAccount'>): string {
  return `spiffe://${w.trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`;
}
