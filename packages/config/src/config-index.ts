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
import { GATEWAY_API_GROUP, ISTIO_NETWORKING_GROUP, ISTIO_SECURITY_GROUP, objectKey } from './kinds.js';
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

interface Reading {
  readonly issues: readonly ObjectIssue[];
  readonly policyProblems: readonly PolicyProblem[];
  /** False when the object is skipped (a policy error). */
  readonly ok: boolean;
  accept(sinks: Sinks, o: KubeObject): void;
}

/**
 * Validation results by object: sources keep the same object while its file or API object is unchanged,
 * so a recompute after one edit validates only what changed.
 */
const readings = new WeakMap<object, Reading>();

/** `objectKey` of each object, remembered while the source keeps the object. */
const keys = new WeakMap<KubeObject, string>();

function keyOf(o: KubeObject): string {
  let key = keys.get(o);
  if (key === undefined) {
    key = objectKey(o.group, o.kind, o.namespace, o.name);
    keys.set(o, key);
  }
  return key;
}

function readObject(o: KubeObject): Reading {
  const cached = readings.get(o.object);
  if (cached !== undefined) return cached;
  const r = readUncached(o);
  readings.set(o.object, r);
  return r;
}

function readUncached(o: KubeObject): Reading {
  const issues: ObjectIssue[] = [];
  const none: readonly PolicyProblem[] = [];
  const simple = (accept: (sinks: Sinks, o: KubeObject) => void): Reading => ({
    issues,
    policyProblems: none,
    ok: true,
    accept,
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
    return {
      issues,
      policyProblems: result.problems,
      ok: result.ok && value !== undefined,
      accept: (sinks) => {
        if (value === undefined) return;
        if (value.kind === 'AuthorizationPolicy') sinks.authorizationPolicies.push(value);
        else if (value.kind === 'PeerAuthentication') sinks.peerAuthentications.push(value);
        else sinks.requestAuthentications.push(value);
      },
    };
  }
  if (o.group === '') {
    switch (o.kind) {
      case 'Namespace': {
        const v = readNamespace(o, issues);
        return simple((sinks) => sinks.namespaces.set(v.name, v));
      }
      case 'Node': {
        const v = readNode(o, issues);
        return simple((sinks) => sinks.nodes.set(v.name, v));
      }
      case 'Pod': {
        const v = readPod(o, issues);
        return simple((sinks) => sinks.pods.set(`${v.namespace}/${v.name}`, v));
      }
      case 'Service': {
        const v = readService(o, issues);
        return simple((sinks) => sinks.services.set(`${v.namespace}/${v.name}`, v));
      }
      case 'ServiceAccount':
        return simple((sinks, obj) => sinks.serviceAccounts.add(`${obj.namespace}/${obj.name}`));
      default:
        return simple(() => {});
    }
  }
  if (o.kind === 'EndpointSlice') {
    const v = readEndpointSlice(o, issues);
    return simple((sinks) => sinks.endpointSlices.push(v));
  }
  if (o.kind === 'Gateway' && (o.group === GATEWAY_API_GROUP || o.group === ISTIO_NETWORKING_GROUP)) {
    const v = readGateway(o);
    return simple((sinks) => sinks.gateways.push(v));
  }
  return simple(() => {});
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
  for (const o of all) {
    const key = keyOf(o);
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
    const reading = readObject(o);
    for (const p of reading.policyProblems) problems.push(fromPolicyProblem(p, o.location));
    if (!reading.ok) continue;
    let error = false;
    for (const i of reading.issues) {
      problems.push({
        code: ConfigCode.InvalidObject,
        severity: i.severity,
        resource: describeObject(o),
        path: i.path,
        message: i.message,
        ...(o.location === undefined ? {} : { location: o.location }),
      });
      if (i.severity === 'error') error = true;
    }
    if (error) continue;
    objects.set(key, o);
    reading.accept(sinks, o);
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
    problems,
  };
}

/** Where an object came from (for problems found after indexing). */
export function locationOf(index: ConfigIndex, group: string, kind: string, namespace: string, name: string) {
  return index.objects.get(objectKey(group, kind, namespace, name))?.location;
}
