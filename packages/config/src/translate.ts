/**
 * The ambient translation, as istiod does it for ztunnel: pods → Workloads (enrollment, tunnel protocol,
 * identity, node, waypoint, the services selecting them, the selector policies that apply), Services →
 * Services (VIPs, ports, waypoint), AuthorizationPolicy/PeerAuthentication → L4 Authorizations, and the
 * raw objects waypoints and gateways need. Pure: the same index always gives the same state.
 */
import {
  type AuthorizationPolicy,
  convertPeerAuthentication,
  type L4Authorization,
  peerAuthenticationLevels,
  peerAuthenticationPolicyKeys,
  projectL4,
  STATIC_STRICT_POLICY_NAME,
  staticStrictPolicy,
} from '@weft/policy';
import { type ConfigIndex, WAYPOINT_CLASS } from './config-index.js';
import type { PodInfo, ServiceInfo } from './kube.js';
import { l7Configs } from './l7-configs.js';
import { LABEL } from './labels.js';
import { membership, type NamespaceInputs, servicePorts } from './membership.js';
import {
  type DiscoveryState,
  type PortMapping,
  type Service,
  serviceKey,
  type Workload,
  workloadUid,
} from './model.js';
import { PodIndex } from './pod-index.js';
import { reuse, sameAuthorization, sameService, sameWorkload } from './reuse.js';
import { isWaypointService, resolveWaypoint, type Waypoints } from './waypoints.js';

export interface TranslateOptions {
  readonly clusterId?: string;
  readonly trustDomain?: string;
  readonly rootNamespace?: string;
  readonly domainSuffix?: string;
  readonly network?: string;
  /**
   * The previous result: namespaces whose inputs did not change are not recomputed, and unchanged objects are
   * returned as the same instances (not re-encoded or re-sent).
   */
  readonly previous?: Translation;
}

/** Pod label first (`none` opts out), then the namespace label. */
export function isEnrolled(pod: PodInfo, nsLabels: Readonly<Record<string, string>>): boolean {
  if (pod.hostNetwork) return false;
  const podMode = pod.labels[LABEL.dataplaneMode];
  if (podMode === 'none') return false;
  if (podMode === 'ambient') return true;
  return nsLabels[LABEL.dataplaneMode] === 'ambient';
}

function inputList(n: NamespaceInputs): unknown[] {
  return [n.info, ...n.pods, 0, ...n.services, 1, ...n.slices, 2, ...n.policies];
}

function sameList(a: readonly unknown[] | undefined, b: readonly unknown[]): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** What a translation remembers so the next one recomputes only namespaces whose inputs changed. */
interface TranslateCache {
  readonly global: readonly unknown[];
  readonly byNs: ReadonlyMap<
    string,
    { inputs: readonly unknown[]; workloads: readonly Workload[]; strict: boolean }
  >;
  /** Each Service by its input (and its namespace's info, which carries the waypoint labels). */
  readonly services: WeakMap<ServiceInfo, { nsInfo: unknown; service: Service }>;
}

const caches = new WeakMap<Translation, TranslateCache>();

/** projectL4, remembered per (validated, cached) policy object. */
const projections = new WeakMap<
  AuthorizationPolicy,
  { root: string; result: ReturnType<typeof projectL4> }
>();

function project(p: AuthorizationPolicy, root: string): ReturnType<typeof projectL4> {
  const hit = projections.get(p);
  if (hit !== undefined && hit.root === root) return hit.result;
  const result = projectL4(p, root);
  projections.set(p, { root, result });
  return result;
}

function workloadName(pod: PodInfo): { type: Workload['workloadType']; name: string } {
  const o = pod.owner;
  if (o?.kind === 'ReplicaSet') {
    const dash = o.name.lastIndexOf('-');
    return { type: 'DEPLOYMENT', name: dash > 0 ? o.name.slice(0, dash) : o.name };
  }
  if (o?.kind === 'Job') return { type: 'JOB', name: o.name };
  if (o?.kind === 'StatefulSet' || o?.kind === 'DaemonSet') return { type: 'DEPLOYMENT', name: o.name };
  return { type: 'POD', name: pod.name };
}

export interface Translation {
  readonly state: DiscoveryState;
  /** L4 projection notes per policy (`namespace/name` → warnings), for status and analyze. */
  readonly projectionWarnings: ReadonlyMap<string, readonly string[]>;
}

export function translate(index: ConfigIndex, options: TranslateOptions = {}): Translation {
  const clusterId = options.clusterId ?? 'Kubernetes';
  const trustDomain = options.trustDomain ?? 'cluster.local';
  const rootNamespace = options.rootNamespace ?? 'istio-system';
  const domain = options.domainSuffix ?? 'cluster.local';
  const network = options.network ?? '';

  const waypoints: Waypoints = {
    byKey: new Map(
      index.gateways
        .filter((g) => g.className === WAYPOINT_CLASS)
        .map((g) => [`${g.namespace}/${g.name}`, g]),
    ),
  };
  const nsLabels = (ns: string) => index.namespaces.get(ns)?.labels ?? {};

  // Policies: project to L4 once; remember which are selector policies for the per-workload lists.
  const authorizations = new Map<string, L4Authorization>();
  const projectionWarnings = new Map<string, readonly string[]>();
  const selectorPolicies: {
    key: string;
    namespace: string;
    matchLabels: Readonly<Record<string, string>>;
  }[] = [];
  for (const p of index.authorizationPolicies) {
    const key = `${p.namespace}/${p.name}`;
    const { authorization, warnings } = project(p, rootNamespace);
    if (warnings.length > 0) projectionWarnings.set(key, warnings);
    if (authorization === null) continue;
    authorizations.set(key, authorization);
    if (authorization.scope === 'WORKLOAD_SELECTOR' && p.selector !== undefined)
      selectorPolicies.push({ key, namespace: p.namespace, matchLabels: p.selector.matchLabels });
  }
  const peerAuthns = index.peerAuthentications;

  const pods = new PodIndex(index.pods.values());
  const inputs = new Map<string, NamespaceInputs>();
  const nsInputs = (ns: string): NamespaceInputs => {
    let n = inputs.get(ns);
    if (n === undefined) {
      n = { info: index.namespaces.get(ns), pods: [], services: [], slices: [], policies: [] };
      inputs.set(ns, n);
    }
    return n;
  };
  for (const p of index.pods.values()) nsInputs(p.namespace).pods.push(p);
  for (const svc of index.services.values()) nsInputs(svc.namespace).services.push(svc);
  for (const slice of index.endpointSlices) nsInputs(slice.namespace).slices.push(slice);
  for (const p of index.authorizationPolicies)
    if (p.namespace !== rootNamespace) nsInputs(p.namespace).policies.push(p);
  // Inputs that can change any namespace's workloads.
  const waypointServices = [...waypoints.byKey.keys()].map((k) => index.services.get(k));
  const global: unknown[] = [
    clusterId,
    trustDomain,
    rootNamespace,
    domain,
    network,
    ...index.gateways,
    3,
    ...waypointServices,
    4,
    ...peerAuthns,
    5,
    ...index.authorizationPolicies.filter((p) => p.namespace === rootNamespace),
  ];
  const prevCache = options.previous === undefined ? undefined : caches.get(options.previous);
  const globalSame = sameList(prevCache?.global, global);
  const rootSelectors = selectorPolicies.filter((sp) => sp.namespace === rootNamespace);
  const workloads = new Map<string, Workload>();
  const byNs = new Map<
    string,
    { inputs: readonly unknown[]; workloads: readonly Workload[]; strict: boolean }
  >();
  let needStaticStrict = false;
  for (const [ns, nin] of inputs) {
    const list = inputList(nin);
    const cached = globalSame ? prevCache?.byNs.get(ns) : undefined;
    if (cached !== undefined && sameList(cached.inputs, list)) {
      for (const w of cached.workloads) workloads.set(w.uid, w);
      needStaticStrict ||= cached.strict;
      byNs.set(ns, cached);
      continue;
    }
    const members = membership(nin, index, pods, domain);
    const policiesByPod = new Map<string, string[]>();
    for (const sp of [...selectorPolicies.filter((x) => x.namespace === ns), ...rootSelectors]) {
      for (const pod of pods.select(ns, sp.matchLabels)) {
        const k = `${pod.namespace}/${pod.name}`;
        const l = policiesByPod.get(k);
        if (l === undefined) policiesByPod.set(k, [sp.key]);
        else l.push(sp.key);
      }
    }
    const nsWorkloads: Workload[] = [];
    let strict = false;
    const nl = nsLabels(ns);
    for (const pod of nin.pods) {
      if (pod.ips.length === 0 || pod.phase === 'Succeeded' || pod.phase === 'Failed') continue;
      const enrolled = isEnrolled(pod, nl);
      const podKey = `${pod.namespace}/${pod.name}`;
      const services: Record<string, PortMapping[]> = {};
      for (const [svcKey, ports] of members.get(podKey) ?? []) services[svcKey] = ports;
      const policies: string[] = [...(policiesByPod.get(podKey) ?? [])];
      if (enrolled) {
        const ref = { namespace: pod.namespace, labels: pod.labels };
        for (const key of peerAuthenticationPolicyKeys(ref, peerAuthns, rootNamespace)) {
          if (key === `${rootNamespace}/${STATIC_STRICT_POLICY_NAME}`) strict = true;
          policies.push(key);
        }
      }
      const isWaypointPod = pod.labels[LABEL.gatewayName] !== undefined;
      const waypoint =
        enrolled && !isWaypointPod
          ? resolveWaypoint(pod.labels, nl, pod.namespace, 'workload', waypoints, index, domain, network)
          : undefined;
      const wn = workloadName(pod);
      const canonicalName =
        pod.labels['service.istio.io/canonical-name'] ??
        pod.labels['app.kubernetes.io/name'] ??
        pod.labels.app ??
        wn.name;
      const canonicalRevision =
        pod.labels['service.istio.io/canonical-revision'] ??
        pod.labels['app.kubernetes.io/version'] ??
        pod.labels.version ??
        'latest';
      const netns = pod.annotations[LABEL.netns];
      let w: Workload = {
        uid: workloadUid(clusterId, pod.namespace, pod.name),
        name: pod.name,
        namespace: pod.namespace,
        addresses: pod.ips,
        network,
        tunnelProtocol: enrolled ? 'HBONE' : 'NONE',
        trustDomain,
        serviceAccount: pod.serviceAccount,
        node: pod.nodeName,
        canonicalName,
        canonicalRevision,
        workloadType: wn.type,
        workloadName: wn.name,
        services,
        authorizationPolicies: [...new Set(policies)].sort(),
        status: pod.ready === false ? 'UNHEALTHY' : 'HEALTHY',
        clusterId,
        ...(waypoint === undefined ? {} : { waypoint }),
        ...(netns === undefined ? {} : { netns }),
      };
      const old = options.previous?.state.workloads.get(w.uid);
      if (old !== undefined && sameWorkload(old, w)) w = old;
      nsWorkloads.push(w);
      workloads.set(w.uid, w);
    }
    needStaticStrict ||= strict;
    byNs.set(ns, { inputs: list, workloads: nsWorkloads, strict });
  }

  // PeerAuthentication → L4 policies the workloads reference.
  if (needStaticStrict)
    authorizations.set(`${rootNamespace}/${STATIC_STRICT_POLICY_NAME}`, staticStrictPolicy(rootNamespace));
  for (const pa of peerAuthns) {
    if (pa.selector === undefined) continue;
    const probe = { namespace: pa.namespace, labels: pa.selector.matchLabels };
    const levels = peerAuthenticationLevels(probe, peerAuthns, rootNamespace);
    const converted = convertPeerAuthentication(pa, levels, rootNamespace);
    if (converted !== null) authorizations.set(`${converted.namespace}/${converted.name}`, converted);
  }

  const services = new Map<string, Service>();
  // Unchanged global inputs + the same ServiceInfo and namespace info → the same Service as last time.
  const serviceCache =
    globalSame && prevCache !== undefined
      ? prevCache.services
      : new WeakMap<ServiceInfo, { nsInfo: unknown; service: Service }>();
  for (const svc of index.services.values()) {
    const nsInfo = index.namespaces.get(svc.namespace);
    const hit = serviceCache.get(svc);
    if (hit !== undefined && hit.nsInfo === nsInfo) {
      services.set(serviceKey(hit.service), hit.service);
      continue;
    }
    const hostname = `${svc.name}.${svc.namespace}.svc.${domain}`;
    const waypoint = resolveWaypoint(
      svc.labels,
      nsLabels(svc.namespace),
      svc.namespace,
      'service',
      waypoints,
      index,
      domain,
      network,
    );
    let s: Service = {
      name: svc.name,
      namespace: svc.namespace,
      hostname,
      addresses: svc.clusterIPs.map((ip) => ({ network, ip })),
      ports: servicePorts(svc, undefined),
      subjectAltNames: [],
      ingressUseWaypoint: svc.labels[LABEL.ingressUseWaypoint] === 'true',
      ...(waypoint === undefined || isWaypointService(svc, waypoints) ? {} : { waypoint }),
    };
    const key = serviceKey(s);
    const old = options.previous?.state.services.get(key);
    if (old !== undefined && sameService(old, s)) s = old;
    serviceCache.set(svc, { nsInfo, service: s });
    services.set(key, s);
  }

  const prev = options.previous?.state;
  const configs = l7Configs(index);
  if (prev !== undefined) {
    for (const [k, c] of configs) {
      const old = prev.configs.get(k);
      if (old !== undefined && old.object === c.object) configs.set(k, old);
    }
  }
  const translation: Translation = {
    state: {
      workloads,
      services,
      authorizations: reuse(authorizations, prev?.authorizations, sameAuthorization),
      configs,
    },
    projectionWarnings,
  };
  caches.set(translation, { global, byNs, services: serviceCache });
  return translation;
}
