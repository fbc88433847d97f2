/**
 * The ambient translation, as istiod does it for ztunnel: pods → Workloads (enrollment, tunnel protocol,
 * identity, node, waypoint, the services selecting them, the selector policies that apply), Services →
 * Services (VIPs, ports, waypoint), AuthorizationPolicy/PeerAuthentication → L4 Authorizations, and the
 * raw objects waypoints and gateways need. Pure: the same index always gives the same state.
 */
import {
  convertPeerAuthentication,
  type L4Authorization,
  peerAuthenticationLevels,
  peerAuthenticationPolicyKeys,
  projectL4,
  STATIC_STRICT_POLICY_NAME,
  staticStrictPolicy,
} from '@weft/policy';
import { type ConfigIndex, type GatewayInfo, WAYPOINT_CLASS } from './config-index.js';
import { kindInfo } from './kinds.js';
import type { PodInfo, ServiceInfo } from './kube.js';
import {
  type AppProtocol,
  type ConfigObject,
  configKey,
  type DiscoveryState,
  type GatewayAddress,
  type PortMapping,
  type Service,
  serviceKey,
  type Workload,
  workloadUid,
} from './model.js';
import { PodIndex } from './pod-index.js';
import { reuse, sameAuthorization, sameService, sameWorkload } from './reuse.js';

export interface TranslateOptions {
  readonly clusterId?: string;
  readonly trustDomain?: string;
  readonly rootNamespace?: string;
  readonly domainSuffix?: string;
  readonly network?: string;
  /** The previous result: unchanged objects are returned as the same instances (cheap re-push). */
  readonly previous?: DiscoveryState;
}

export const LABEL = {
  dataplaneMode: 'istio.io/dataplane-mode',
  useWaypoint: 'istio.io/use-waypoint',
  useWaypointNamespace: 'istio.io/use-waypoint-namespace',
  waypointFor: 'istio.io/waypoint-for',
  ingressUseWaypoint: 'istio.io/ingress-use-waypoint',
  gatewayName: 'gateway.networking.k8s.io/gateway-name',
  netns: 'weft.dev/netns',
} as const;

const HBONE_PORT = 15008;

/** Pod label first (`none` opts out), then the namespace label. */
export function isEnrolled(pod: PodInfo, nsLabels: Readonly<Record<string, string>>): boolean {
  if (pod.hostNetwork) return false;
  const podMode = pod.labels[LABEL.dataplaneMode];
  if (podMode === 'none') return false;
  if (podMode === 'ambient') return true;
  return nsLabels[LABEL.dataplaneMode] === 'ambient';
}

function appProtocol(p: { name: string; appProtocol?: string }): AppProtocol {
  const a = (p.appProtocol ?? p.name.split('-')[0] ?? '').toLowerCase();
  if (a === 'http' || a === 'http1' || a === 'kubernetes.io/http') return 'HTTP11';
  if (a === 'http2' || a === 'h2c' || a === 'kubernetes.io/h2c') return 'HTTP2';
  if (a === 'grpc') return 'GRPC';
  if (a === 'tcp') return 'TCP';
  if (a === 'tls' || a === 'https') return 'TLS';
  return 'UNKNOWN';
}

interface Waypoints {
  /** `namespace/name` → the waypoint Gateway. */
  readonly byKey: ReadonlyMap<string, GatewayInfo>;
}

/** The waypoint a pod/service/namespace label asks for, and whether it serves that kind of traffic. */
function resolveWaypoint(
  labels: Readonly<Record<string, string>>,
  nsLabels: Readonly<Record<string, string>>,
  namespace: string,
  forWhat: 'service' | 'workload',
  waypoints: Waypoints,
  index: ConfigIndex,
  domain: string,
  network: string,
): GatewayAddress | undefined {
  let name = labels[LABEL.useWaypoint];
  let ns = labels[LABEL.useWaypointNamespace];
  if (name === undefined) {
    name = nsLabels[LABEL.useWaypoint];
    ns = nsLabels[LABEL.useWaypointNamespace];
  }
  if (name === undefined || name === '' || name === 'none') return undefined;
  const gwNs = ns === undefined || ns === '' ? namespace : ns;
  const gw = waypoints.byKey.get(`${gwNs}/${name}`);
  if (gw === undefined) return undefined;
  if (gw.waypointFor !== 'all' && gw.waypointFor !== forWhat) return undefined;
  return waypointAddress(gw, index, domain, network);
}

/** The waypoint's Service VIP when there is one (what ztunnel dials), its hostname otherwise. */
export function waypointAddress(
  gw: GatewayInfo,
  index: ConfigIndex,
  domain: string,
  network: string,
): GatewayAddress {
  const svc = index.services.get(`${gw.namespace}/${gw.name}`);
  const ip = svc?.clusterIPs[0] ?? gw.addresses[0];
  if (ip !== undefined) return { address: { network, ip }, hboneMtlsPort: HBONE_PORT };
  return {
    hostname: { namespace: gw.namespace, hostname: `${gw.name}.${gw.namespace}.svc.${domain}` },
    hboneMtlsPort: HBONE_PORT,
  };
}

function servicePorts(svc: ServiceInfo, pod: PodInfo | undefined): PortMapping[] {
  return svc.ports
    .filter((p) => p.protocol === 'TCP')
    .map((p) => ({
      servicePort: p.port,
      targetPort: typeof p.targetPort === 'number' ? p.targetPort : (pod?.namedPorts.get(p.targetPort) ?? 0),
      appProtocol: appProtocol(p),
    }));
}

/** Pod → the services selecting it, with the ports resolved against that pod. */
function membership(
  index: ConfigIndex,
  pods: PodIndex,
  domain: string,
): Map<string, Map<string, PortMapping[]>> {
  const out = new Map<string, Map<string, PortMapping[]>>();
  const add = (podKey: string, svcKey: string, ports: PortMapping[]) => {
    let m = out.get(podKey);
    if (m === undefined) {
      m = new Map();
      out.set(podKey, m);
    }
    m.set(svcKey, ports);
  };
  const podByIp = new Map<string, PodInfo>();
  for (const p of index.pods.values()) for (const ip of p.ips) podByIp.set(`${p.namespace}/${ip}`, p);
  const sliced = new Set<string>();
  for (const slice of index.endpointSlices) {
    const svc = index.services.get(`${slice.namespace}/${slice.serviceName}`);
    if (svc === undefined) continue;
    sliced.add(`${svc.namespace}/${svc.name}`);
    const key = serviceKey({
      namespace: svc.namespace,
      hostname: `${svc.name}.${svc.namespace}.svc.${domain}`,
    });
    for (const e of slice.endpoints) {
      const pod =
        e.podName !== undefined
          ? index.pods.get(`${slice.namespace}/${e.podName}`)
          : e.addresses.map((a) => podByIp.get(`${slice.namespace}/${a}`)).find((p) => p !== undefined);
      if (pod === undefined) continue;
      const ports = svc.ports
        .filter((p) => p.protocol === 'TCP')
        .map((p) => {
          const sp = slice.ports.find((s) => s.name === p.name);
          return {
            servicePort: p.port,
            targetPort: sp?.port ?? (typeof p.targetPort === 'number' ? p.targetPort : 0),
            appProtocol: appProtocol(p),
          };
        });
      add(`${pod.namespace}/${pod.name}`, key, ports);
    }
  }
  // Embedded mode (no EndpointSlices): select pods by the Service's selector.
  for (const svc of index.services.values()) {
    if (svc.selector === undefined || sliced.has(`${svc.namespace}/${svc.name}`)) continue;
    const key = serviceKey({
      namespace: svc.namespace,
      hostname: `${svc.name}.${svc.namespace}.svc.${domain}`,
    });
    for (const pod of pods.select(svc.namespace, svc.selector))
      add(`${pod.namespace}/${pod.name}`, key, servicePorts(svc, pod));
  }
  return out;
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
    const { authorization, warnings } = projectL4(p, rootNamespace);
    if (warnings.length > 0) projectionWarnings.set(key, warnings);
    if (authorization === null) continue;
    authorizations.set(key, authorization);
    if (authorization.scope === 'WORKLOAD_SELECTOR' && p.selector !== undefined)
      selectorPolicies.push({ key, namespace: p.namespace, matchLabels: p.selector.matchLabels });
  }
  const peerAuthns = index.peerAuthentications;

  const pods = new PodIndex(index.pods.values());
  const members = membership(index, pods, domain);
  // Selector policies → the pods they select (namespace-local, or mesh-wide from the root namespace).
  const policiesByPod = new Map<string, string[]>();
  for (const sp of selectorPolicies) {
    for (const pod of pods.select(
      sp.namespace === rootNamespace ? undefined : sp.namespace,
      sp.matchLabels,
    )) {
      const k = `${pod.namespace}/${pod.name}`;
      const list = policiesByPod.get(k);
      if (list === undefined) policiesByPod.set(k, [sp.key]);
      else list.push(sp.key);
    }
  }
  const workloads = new Map<string, Workload>();
  let needStaticStrict = false;
  for (const pod of index.pods.values()) {
    if (pod.ips.length === 0 || pod.phase === 'Succeeded' || pod.phase === 'Failed') continue;
    const nl = nsLabels(pod.namespace);
    const enrolled = isEnrolled(pod, nl);
    const podKey = `${pod.namespace}/${pod.name}`;
    const services: Record<string, PortMapping[]> = {};
    for (const [svcKey, ports] of members.get(podKey) ?? []) services[svcKey] = ports;
    const policies: string[] = [...(policiesByPod.get(podKey) ?? [])];
    if (enrolled) {
      const ref = { namespace: pod.namespace, labels: pod.labels };
      for (const key of peerAuthenticationPolicyKeys(ref, peerAuthns, rootNamespace)) {
        if (key === `${rootNamespace}/${STATIC_STRICT_POLICY_NAME}`) needStaticStrict = true;
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
    const w: Workload = {
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
    workloads.set(w.uid, w);
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
  for (const svc of index.services.values()) {
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
    const s: Service = {
      name: svc.name,
      namespace: svc.namespace,
      hostname,
      addresses: svc.clusterIPs.map((ip) => ({ network, ip })),
      ports: servicePorts(svc, undefined),
      subjectAltNames: [],
      ingressUseWaypoint: svc.labels[LABEL.ingressUseWaypoint] === 'true',
      ...(waypoint === undefined || isWaypointService(svc, waypoints) ? {} : { waypoint }),
    };
    services.set(serviceKey(s), s);
  }

  const prev = options.previous;
  const configs = l7Configs(index);
  if (prev !== undefined) {
    for (const [k, c] of configs) {
      const old = prev.configs.get(k);
      if (old !== undefined && old.object === c.object) configs.set(k, old);
    }
  }
  return {
    state: {
      workloads: reuse(workloads, prev?.workloads, sameWorkload),
      services: reuse(services, prev?.services, sameService),
      authorizations: reuse(authorizations, prev?.authorizations, sameAuthorization),
      configs,
    },
    projectionWarnings,
  };
}

/** A waypoint's own Service never points at itself. */
function isWaypointService(svc: ServiceInfo, waypoints: Waypoints): boolean {
  return waypoints.byKey.has(`${svc.namespace}/${svc.name}`);
}

/** Raw objects for waypoints and gateways; Secrets only when a Gateway references them. */
function l7Configs(index: ConfigIndex): Map<string, ConfigObject> {
  const wantedSecrets = new Set<string>();
  for (const g of index.gateways) {
    for (const c of g.credentialNames) {
      wantedSecrets.add(`${g.namespace}/${c}`);
      wantedSecrets.add(`${g.namespace}/${c}-cacert`);
    }
  }
  const out = new Map<string, ConfigObject>();
  for (const o of index.objects.values()) {
    if (kindInfo(o.apiVersion, o.kind)?.forL7 !== true) continue;
    if (o.kind === 'Secret' && !wantedSecrets.has(`${o.namespace}/${o.name}`)) continue;
    const c: ConfigObject = {
      apiVersion: o.apiVersion,
      kind: o.kind,
      namespace: o.namespace,
      name: o.name,
      object: o.object,
    };
    out.set(configKey(c), c);
  }
  return out;
}
