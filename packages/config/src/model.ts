/**
 * The discovery model every Weft component shares: what pilot computes from the config and what the node
 * agent and waypoint receive over xDS. Plain data (IPs as strings, CIDRs as bytes + length) that mirrors
 * Istio's istio.workload.Address and istio.security.Authorization messages field for field, so the
 * wire mapping in @weft/xds is mechanical.
 */

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

/** Pattern on a string: Istio's exact, `prefix*`, `*suffix` or `*` (presence). */
export type StringMatch =
  | { readonly exact: string }
  | { readonly prefix: string }
  | { readonly suffix: string }
  | { readonly presence: true };

/** A CIDR as the wire carries it: 4 or 16 address bytes and a prefix length. */
export interface IpBlock {
  readonly address: Uint8Array;
  readonly length: number;
}

export interface ServiceAccountMatch {
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** Fields are AND'd, values of one field OR'd, not* negate. */
export interface L4Match {
  readonly namespaces: readonly StringMatch[];
  readonly notNamespaces: readonly StringMatch[];
  readonly serviceAccounts: readonly ServiceAccountMatch[];
  readonly notServiceAccounts: readonly ServiceAccountMatch[];
  readonly principals: readonly StringMatch[];
  readonly notPrincipals: readonly StringMatch[];
  readonly sourceIps: readonly IpBlock[];
  readonly notSourceIps: readonly IpBlock[];
  readonly destinationIps: readonly IpBlock[];
  readonly notDestinationIps: readonly IpBlock[];
  readonly destinationPorts: readonly number[];
  readonly notDestinationPorts: readonly number[];
}

/** Matches are OR'd. */
export interface L4Clause {
  readonly matches: readonly L4Match[];
}

/** Clauses are AND'd. */
export interface L4Rule {
  readonly clauses: readonly L4Clause[];
}

export type AuthorizationScope = 'GLOBAL' | 'NAMESPACE' | 'WORKLOAD_SELECTOR';

/** An AuthorizationPolicy projected to what L4 can enforce. Resource name "namespace/name". */
export interface Authorization {
  readonly name: string;
  readonly namespace: string;
  readonly scope: AuthorizationScope;
  readonly action: 'ALLOW' | 'DENY';
  /** OR'd; an ALLOW with no rules matches nothing (deny all), `[{clauses: []}]` matches everything. */
  readonly rules: readonly L4Rule[];
  readonly dryRun: boolean;
}

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

/** `Kind/namespace/name` (namespace empty for cluster-scoped kinds). */
export function configKey(c: Pick<ConfigObject, 'kind' | 'namespace' | 'name'>): string {
  return `${c.kind}/${c.namespace}/${c.name}`;
}

export function workloadUid(clusterId: string, namespace: string, name: string): string {
  return `${clusterId}//Pod/${namespace}/${name}`;
}

/** spiffe://<td>/ns/<ns>/sa/<sa> */
export function workloadSpiffeId(w: Pick<Workload, 'trustDomain' | 'namespace' | 'serviceAccount'>): string {
  return `spiffe://${w.trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`;
}
