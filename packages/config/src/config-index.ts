/**
 * All objects from every source → one validated, indexed view. Duplicates (same kind, namespace, name)
 * keep the first and report the rest; invalid objects are reported and left out; everything valid flows on.
 */
import {
  type AuthorizationPolicy,
  type PeerAuthentication,
  type Problem as PolicyProblem,
  type RequestAuthentication,
  validateAuthorizationPolicy,
  validatePeerAuthentication,
  validateRequestAuthentication,
} from '@weft/policy';
import {
  GATEWAY_API_GROUP,
  ISTIO_NETWORKING_GROUP,
  ISTIO_SECURITY_GROUP,
  kindOfGroup,
  objectKey,
} from './kinds.js';
import {
  type EndpointSliceInfo,
  type NamespaceInfo,
  type NodeInfo,
  type ObjectIssue,
  type PodInfo,
  readEndpointSlice,
  readNamespace,
  readNode,
  readPod,
  readService,
  type ServiceInfo,
} from './kube.js';
import { describeObject, type KubeObject } from './parse.js';
import { ConfigCode, type ConfigProblem, formatLocation, fromPolicyProblem } from './problems.js';

export const WAYPOINT_CLASS = 'istio-waypoint';

export interface GatewayInfo {
  readonly group: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly className: string;
  /** istio.io/waypoint-for; only meaningful for waypoints (default `service`). */
  readonly waypointFor: 'service' | 'workload' | 'all' | 'none';
  /** spec.addresses / status.addresses IPs. */
  readonly addresses: readonly string[];
  /** TLS credentialName / certificateRefs secret names (namespace-local). */
  readonly credentialNames: readonly string[];
  /** networking.istio.io Gateway spec.selector: the gateway pods it configures (empty for Gateway API). */
  readonly selector: Readonly<Record<string, string>>;
}

export interface ConfigIndex {
  /** Every valid object by `group/Kind/namespace/name`. */
  readonly objects: ReadonlyMap<string, KubeObject>;
  readonly namespaces: ReadonlyMap<string, NamespaceInfo>;
  readonly nodes: ReadonlyMap<string, NodeInfo>;
  /** By `namespace/name`. */
  readonly pods: ReadonlyMap<string, PodInfo>;
  readonly services: ReadonlyMap<string, ServiceInfo>;
  readonly serviceAccounts: ReadonlySet<string>;
  readonly endpointSlices: readonly EndpointSliceInfo[];
  readonly gateways: readonly GatewayInfo[];
  readonly authorizationPolicies: readonly AuthorizationPolicy[];
  readonly peerAuthentications: readonly PeerAuthentication[];
  readonly requestAuthentications: readonly RequestAuthentication[];
  /** The valid objects of kinds sent raw to waypoints and gateways (KindInfo.forL7), in input order. */
  readonly l7Objects: readonly KubeObject[];
  readonly problems: readonly ConfigProblem[];
}

export interface IndexOptions {
  readonly rootNamespace?: string;
}

function rec(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function readGateway(o: KubeObject): GatewayInfo {
  const m = rec(o.object.metadata) ?? {};
  const labels = (rec(m.labels) ?? {}) as Record<string, string>;
  const spec = rec(o.object.spec) ?? {};
  const status = rec(o.object.status) ?? {};
  const addresses: string[] = [];
  for (const list of [spec.addresses, status.addresses]) {
    for (const a of Array.isArray(list) ? list : []) {
      const v = rec(a)?.value;
      if (typeof v === 'string' && /^[0-9a-fA-F.:]+$/.test(v) && !addresses.includes(v)) addresses.push(v);
    }
  }
  const credentialNames: string[] = [];
  if (o.group === ISTIO_NETWORKING_GROUP) {
    for (const s of Array.isArray(spec.servers) ? spec.servers : []) {
      const c = rec(rec(s)?.tls)?.credentialName;
      if (typeof c === 'string' && c !== '') credentialNames.push(c);
    }
  } else {
    for (const l of Array.isArray(spec.listeners) ? spec.listeners : []) {
      const refs = rec(rec(l)?.tls)?.certificateRefs;
      for (const ref of Array.isArray(refs) ? refs : []) {
        const n = rec(ref)?.name;
        if (typeof n === 'string') credentialNames.push(n);
      }
    }
  }
  const wf = labels['istio.io/waypoint-for'];
  return {
    group: o.group,
    namespace: o.namespace,
    name: o.name,
    labels,
    className: typeof spec.gatewayClassName === 'string' ? spec.gatewayClassName : '',
    waypointFor: wf === 'workload' || wf === 'all' || wf === 'none' ? wf : 'service',
    addresses,
    credentialNames,
    selector:
      o.group === ISTIO_NETWORKING_GROUP ? ((rec(spec.selector) ?? {}) as Record<string, string>) : {},
  };
}

interface Sinks {
  namespaces: Map<string, NamespaceInfo>;
  nodes: Map<string, NodeInfo>;
  pods: Map<string, PodInfo>;
  services: Map<string, ServiceInfo>;
  serviceAccounts: Set<string>;
  endpointSlices: EndpointSliceInfo[];
  gateways: GatewayInfo[];
  authorizationPolicies: AuthorizationPolicy[];
  peerAuthentications: PeerAuthentication[];
  requestAuthentications: RequestAuthentication[];
}

/** Where a valid object goes in the index, with its key there; decided once per object. */
type Placement =
  | { readonly sink: 'namespaces'; readonly key: string; readonly value: NamespaceInfo }
  | { readonly sink: 'nodes'; readonly key: string; readonly value: NodeInfo }
  | { readonly sink: 'pods'; readonly key: string; readonly value: PodInfo }
  | { readonly sink: 'services'; readonly key: string; readonly value: ServiceInfo }
  | { readonly sink: 'serviceAccounts'; readonly key: string }
  | { readonly sink: 'endpointSlices'; readonly value: EndpointSliceInfo }
  | { readonly sink: 'gateways'; readonly value: GatewayInfo }
  | { readonly sink: 'authorizationPolicies'; readonly value: AuthorizationPolicy }
  | { readonly sink: 'peerAuthentications'; readonly value: PeerAuthentication }
  | { readonly sink: 'requestAuthentications'; readonly value: RequestAuthentication }
  | { readonly sink: 'none' };

interface Reading {
  readonly issues: readonly ObjectIssue[];
  readonly policyProblems: readonly PolicyProblem[];
  /** False when the object is skipped (a policy error). */
  readonly ok: boolean;
  /** True when an issue is an error (the object is reported and left out). */
  readonly invalid: boolean;
  readonly placement: Placement;
}

function place(sinks: Sinks, p: Placement): void {
  switch (p.sink) {
    case 'namespaces':
      sinks.namespaces.set(p.key, p.value);
      return;
    case 'nodes':
      sinks.nodes.set(p.key, p.value);
      return;
    case 'pods':
      sinks.pods.set(p.key, p.value);
      return;
    case 'services':
      sinks.services.set(p.key, p.value);
      return;
    case 'serviceAccounts':
      sinks.serviceAccounts.add(p.key);
      return;
    case 'endpointSlices':
      sinks.endpointSlices.push(p.value);
      return;
    case 'gateways':
      sinks.gateways.push(p.value);
      return;
    case 'authorizationPolicies':
      sinks.authorizationPolicies.push(p.value);
      return;
    case 'peerAuthentications':
      sinks.peerAuthentications.push(p.value);
      return;
    case 'requestAuthentications':
      sinks.requestAuthentications.push(p.value);
      return;
    case 'none':
      return;
  }
}

/**
 * Validation results by object: sources keep the same object while its file or API object is unchanged,
 * so a recompute after one edit validates only what changed.
 */
const readings = new WeakMap<object, Reading>();

/** The object's index key and reading, by the object itself (one lookup per object per recompute). */
interface Entry {
  readonly key: string;
  readonly reading: Reading;
  readonly forL7: boolean;
}

const entries = new WeakMap<KubeObject, Entry>();

function entryOf(o: KubeObject): Entry {
  let entry = entries.get(o);
  if (entry === undefined) {
    let reading = readings.get(o.object);
    if (reading === undefined) {
      reading = readUncached(o);
      readings.set(o.object, reading);
    }
    entry = {
      key: objectKey(o.group, o.kind, o.namespace, o.name),
      reading,
      forL7: kindOfGroup(o.group, o.kind)?.forL7 === true,
    };
    entries.set(o, entry);
  }
  return entry;
}

function readUncached(o: KubeObject): Reading {
  const issues: ObjectIssue[] = [];
  const none: readonly PolicyProblem[] = [];
  const simple = (placement: Placement): Reading => ({
    issues,
    policyProblems: none,
    ok: true,
    invalid: issues.some((i) => i.severity === 'error'),
    placement,
  });
  if (o.group === ISTIO_SECURITY_GROUP) {
    const validate =
      o.kind === 'AuthorizationPolicy'
        ? validateAuthorizationPolicy
        : o.kind === 'PeerAuthentication'
          ? validatePeerAuthentication
          : validateRequestAuthentication;
    const result = validate(o.object);
    const value = result.value;
    let placement: Placement = { sink: 'none' };
    if (value?.kind === 'AuthorizationPolicy') placement = { sink: 'authorizationPolicies', value };
    else if (value?.kind === 'PeerAuthentication') placement = { sink: 'peerAuthentications', value };
    else if (value !== undefined) placement = { sink: 'requestAuthentications', value };
    return {
      issues,
      policyProblems: result.problems,
      ok: result.ok && value !== undefined,
      invalid: false,
      placement,
    };
  }
  if (o.group === '') {
    switch (o.kind) {
      case 'Namespace': {
        const v = readNamespace(o, issues);
        return simple({ sink: 'namespaces', key: v.name, value: v });
      }
      case 'Node': {
        const v = readNode(o, issues);
        return simple({ sink: 'nodes', key: v.name, value: v });
      }
      case 'Pod': {
        const v = readPod(o, issues);
        return simple({ sink: 'pods', key: `${v.namespace}/${v.name}`, value: v });
      }
      case 'Service': {
        const v = readService(o, issues);
        return simple({ sink: 'services', key: `${v.namespace}/${v.name}`, value: v });
      }
      case 'ServiceAccount':
        return simple({ sink: 'serviceAccounts', key: `${o.namespace}/${o.name}` });
      default:
        return simple({ sink: 'none' });
    }
  }
  if (o.kind === 'EndpointSlice') {
    const v = readEndpointSlice(o, issues);
    return simple({ sink: 'endpointSlices', value: v });
  }
  if (o.kind === 'Gateway' && (o.group === GATEWAY_API_GROUP || o.group === ISTIO_NETWORKING_GROUP)) {
    const v = readGateway(o);
    return simple({ sink: 'gateways', value: v });
  }
  return simple({ sink: 'none' });
}

export function buildIndex(all: readonly KubeObject[], options: IndexOptions = {}): ConfigIndex {
  const problems: ConfigProblem[] = [];
  const objects = new Map<string, KubeObject>();
  const namespaces = new Map<string, NamespaceInfo>();
  const nodes = new Map<string, NodeInfo>();
  const pods = new Map<string, PodInfo>();
  const services = new Map<string, ServiceInfo>();
  const serviceAccounts = new Set<string>();
  const endpointSlices: EndpointSliceInfo[] = [];
  const gateways: GatewayInfo[] = [];
  const authorizationPolicies: AuthorizationPolicy[] = [];
  const peerAuthentications: PeerAuthentication[] = [];
  const requestAuthentications: RequestAuthentication[] = [];
  void options;
  const sinks: Sinks = {
    namespaces,
    nodes,
    pods,
    services,
    serviceAccounts,
    endpointSlices,
    gateways,
    authorizationPolicies,
    peerAuthentications,
    requestAuthentications,
  };

  // Hot loop (every recompute walks every object): no per-object closures or temporaries.
  const l7Objects: KubeObject[] = [];
  for (const o of all) {
    const { key, reading, forL7 } = entryOf(o);
    const first = objects.get(key);
    if (first !== undefined) {
      problems.push({
        code: ConfigCode.Duplicate,
        severity: 'error',
        resource: describeObject(o),
        message: `defined more than once; keeping the first${first.location === undefined ? '' : ` (${formatLocation(first.location)})`}`,
        ...(o.location === undefined ? {} : { location: o.location }),
      });
      continue;
    }
    for (const p of reading.policyProblems) problems.push(fromPolicyProblem(p, o.location));
    if (!reading.ok) continue;
    for (const i of reading.issues) {
      problems.push({
        code: ConfigCode.InvalidObject,
        severity: i.severity,
        resource: describeObject(o),
        path: i.path,
        message: i.message,
        ...(o.location === undefined ? {} : { location: o.location }),
      });
    }
    if (reading.invalid) continue;
    objects.set(key, o);
    if (forL7) l7Objects.push(o);
    place(sinks, reading.placement);
  }
  return {
    objects,
    namespaces,
    nodes,
    pods,
    services,
    serviceAccounts,
    endpointSlices,
    gateways,
    authorizationPolicies,
    peerAuthentications,
    requestAuthentications,
    l7Objects,
    problems,
  };
}

/** Where an object came from (for problems found after indexing). */
export function locationOf(index: ConfigIndex, group: string, kind: string, namespace: string, name: string) {
  return index.objects.get(objectKey(group, kind, namespace, name))?.location;
}
