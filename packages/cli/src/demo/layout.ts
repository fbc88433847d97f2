/**
 * What the demo runs where, derived from the embedded config (deploy/examples/demo/config): the nodes,
 * the pods with their namespace, service account, IP and network namespace (annotation weft.dev/netns),
 * plus the fixed ports of the processes in the host's namespace. Pure: parsing and checks only.
 */
import { parseAllDocuments } from 'yaml';
import { DemoError, DemoErrorCode } from './errors.js';

/** Every network namespace, process marker and file the demo makes starts with this. */
export const DEMO_PREFIX = 'weft-demo';
export const NETNS_ANNOTATION = 'weft.dev/netns';

export type PodRole = 'app' | 'waypoint' | 'ingress' | 'outside';

export interface DemoPod {
  name: string;
  namespace: string;
  serviceAccount: string;
  node: string;
  ip: string;
  netns: string;
  labels: Record<string, string>;
  role: PodRole;
  /** The app's listening port (httpbin), 0 for the waypoint. */
  appPort: number;
}

export interface DemoNode {
  name: string;
  /** 1-based; node n routes 10.44.n.0/24 and sits at 172.31.251.n on the node link. */
  index: number;
  netns: string;
  podCidr: string;
  gatewayIp: string;
  linkIp: string;
  /** Ports of this node's weft-node in the host's namespace. */
  ports: { admin: number; metrics: number; readiness: number };
}

export interface DemoService {
  name: string;
  namespace: string;
  clusterIp: string;
  port: number;
  waypoint: string | undefined;
}

export interface DemoLayout {
  nodes: DemoNode[];
  pods: DemoPod[];
  services: DemoService[];
  /** The namespace that has a waypoint (Gateway gatewayClassName istio-waypoint), if any. */
  waypointNamespace: string | undefined;
  switchNetns: string;
}

/** Fixed ports on 127.0.0.1 in the host's namespace (the tour's commands name them). */
export const PILOT_PORTS = { xds: 15010, ca: 15012, admin: 15000, metrics: 15014, readiness: 15016 } as const;

const LINK_CIDR_BASE = '172.31.251';

interface KubeLike {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown; labels?: unknown; annotations?: unknown };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

function strMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v !== 'object' || v === null) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Parses every YAML document of the given file texts into plain objects (bad documents: WEFT_DEMO_CONFIG). */
export function parseConfigTexts(files: ReadonlyArray<{ path: string; text: string }>): KubeLike[] {
  const out: KubeLike[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(file.text)) {
      if (doc.errors.length > 0)
        throw new DemoError(DemoErrorCode.Config, `${file.path}: ${doc.errors[0]?.message ?? 'bad YAML'}`);
      const value: unknown = doc.toJS();
      if (typeof value === 'object' && value !== null) out.push(value as KubeLike);
    }
  }
  return out;
}

function podCidrOf(index: number): string {
  return `10.44.${index}.0/24`;
}

function portOf(spec: Record<string, unknown> | undefined): number {
  const containers = spec?.containers;
  if (!Array.isArray(containers)) return 0;
  for (const c of containers) {
    const ports = (c as { ports?: unknown }).ports;
    if (Array.isArray(ports)) {
      const p = (ports[0] as { containerPort?: unknown } | undefined)?.containerPort;
      if (typeof p === 'number') return p;
    }
  }
  return 0;
}

/** The demo's layout from the config objects; throws WEFT_DEMO_CONFIG when something it needs is missing. */
export function layoutFromObjects(objects: readonly KubeLike[]): DemoLayout {
  const nodeNames: string[] = [];
  const pods: DemoPod[] = [];
  const services: DemoService[] = [];
  let waypointNamespace: string | undefined;
  for (const o of objects) {
    const name = str(o.metadata?.name);
    if (name === undefined) continue;
    const namespace = str(o.metadata?.namespace) ?? 'default';
    if (o.kind === 'Node') nodeNames.push(name);
    if (o.kind === 'Gateway' && o.spec?.gatewayClassName === 'istio-waypoint') waypointNamespace = namespace;
    if (o.kind === 'Service') {
      const ports = o.spec?.ports;
      const first = Array.isArray(ports) ? (ports[0] as { port?: unknown } | undefined) : undefined;
      const clusterIp = str(o.spec?.clusterIP);
      if (clusterIp !== undefined)
        services.push({
          name,
          namespace,
          clusterIp,
          port: typeof first?.port === 'number' ? first.port : 0,
          waypoint: strMap(o.metadata?.labels)['istio.io/use-waypoint'],
        });
    }
    if (o.kind !== 'Pod') continue;
    const annotations = strMap(o.metadata?.annotations);
    const labels = strMap(o.metadata?.labels);
    const ip = str(o.status?.podIP);
    const node = str(o.spec?.nodeName);
    const netns = annotations[NETNS_ANNOTATION];
    if (ip === undefined || node === undefined || netns === undefined)
      throw new DemoError(
        DemoErrorCode.Config,
        `pod ${namespace}/${name} needs spec.nodeName, status.podIP and the ${NETNS_ANNOTATION} annotation`,
      );
    if (!netns.startsWith(`${DEMO_PREFIX}-`))
      throw new DemoError(
        DemoErrorCode.Config,
        `pod ${namespace}/${name}: ${NETNS_ANNOTATION} must start with ${DEMO_PREFIX}-`,
      );
    const role: PodRole =
      labels['gateway.networking.k8s.io/gateway-name'] !== undefined
        ? 'waypoint'
        : labels.istio === 'ingressgateway'
          ? 'ingress'
          : 'app';
    pods.push({
      name,
      namespace,
      serviceAccount: str(o.spec?.serviceAccountName) ?? 'default',
      node,
      ip,
      netns,
      labels,
      role,
      appPort: role === 'waypoint' ? 0 : portOf(o.spec) || (role === 'ingress' ? 80 : 8080),
    });
  }
  if (nodeNames.length === 0) throw new DemoError(DemoErrorCode.Config, 'the config has no Node objects');
  const nodes: DemoNode[] = nodeNames.map((name, i) => {
    const index = i + 1;
    return {
      name,
      index,
      netns: `${DEMO_PREFIX}-${name}`,
      podCidr: podCidrOf(index),
      gatewayIp: `10.44.${index}.1`,
      linkIp: `${LINK_CIDR_BASE}.${index}`,
      // node1 keeps ztunnel's metrics/readiness ports (15020/15021); node n adds (n-1)*100. Admin
      // 15000 is pilot's (weftctl ca talks to it), so node n's admin is 15000 + n*100.
      ports: { admin: 15000 + index * 100, metrics: 15020 + i * 100, readiness: 15021 + i * 100 },
    };
  });
  for (const pod of pods) {
    const node = nodes.find((n) => n.name === pod.node);
    if (node === undefined)
      throw new DemoError(
        DemoErrorCode.Config,
        `pod ${pod.namespace}/${pod.name} is on unknown node ${pod.node}`,
      );
    if (!pod.ip.startsWith(`10.44.${node.index}.`))
      throw new DemoError(
        DemoErrorCode.Config,
        `pod ${pod.namespace}/${pod.name} has IP ${pod.ip}, outside ${node.name}'s ${node.podCidr}`,
      );
  }
  // A plaintext client outside the mesh (not in the config, never registered with an agent).
  const first = nodes[0] as DemoNode;
  pods.push({
    name: 'outside',
    namespace: '(not in mesh)',
    serviceAccount: '-',
    node: first.name,
    ip: `10.44.${first.index}.99`,
    netns: `${DEMO_PREFIX}-outside`,
    labels: {},
    role: 'outside',
    appPort: 0,
  });
  return { nodes, pods, services, waypointNamespace, switchNetns: `${DEMO_PREFIX}-switch` };
}

/** Finds a pod by `name`, `namespace/name`, or the name without its `-0` suffix (`web` → web-0). */
export function findPod(layout: DemoLayout, ref: string): DemoPod | undefined {
  const [a, b] = ref.includes('/') ? ref.split('/', 2) : [undefined, ref];
  return layout.pods.find(
    (p) =>
      (a === undefined || p.namespace === a) &&
      (p.name === b || p.name === `${b}-0` || p.name.replace(/-0$/, '') === b),
  );
}
