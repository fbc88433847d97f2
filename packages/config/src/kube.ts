/**
 * Kubernetes core kinds → the typed facts translation needs, with per-object validation. An object with
 * an error is reported and skipped; warnings keep it.
 */
import { isIP } from 'node:net';
import type { KubeObject } from './parse.js';

type Obj = Record<string, unknown>;

export interface ObjectIssue {
  readonly severity: 'error' | 'warning';
  readonly path: string;
  readonly message: string;
}

export interface NamespaceInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface NodeInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly nodeName: string;
  readonly ips: readonly string[];
  readonly serviceAccount: string;
  readonly phase: string;
  /** The Ready condition; undefined when the pod has none (embedded YAML). */
  readonly ready: boolean | undefined;
  /** Named container ports (for Service targetPort names). */
  readonly namedPorts: ReadonlyMap<string, number>;
  readonly owner?: { readonly kind: string; readonly name: string };
  readonly hostNetwork: boolean;
}

export interface ServicePortInfo {
  readonly name: string;
  readonly port: number;
  readonly targetPort: number | string;
  readonly protocol: string;
  readonly appProtocol?: string;
}

export interface ServiceInfo {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly selector?: Readonly<Record<string, string>>;
  readonly clusterIPs: readonly string[];
  readonly ports: readonly ServicePortInfo[];
}

export interface EndpointSliceInfo {
  readonly namespace: string;
  readonly name: string;
  readonly serviceName: string;
  readonly ports: readonly { readonly name: string; readonly port: number }[];
  readonly endpoints: readonly { readonly addresses: readonly string[]; readonly podName?: string }[];
}

function rec(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

function strMap(v: unknown, path: string, issues: ObjectIssue[]): Record<string, string> {
  const r = rec(v);
  if (v !== undefined && v !== null && r === undefined) {
    issues.push({ severity: 'error', path, message: 'must be a map of strings' });
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(r ?? {})) {
    if (typeof val === 'string') out[k] = val;
    else if (typeof val === 'number' || typeof val === 'boolean') {
      issues.push({
        severity: 'error',
        path: `${path}.${k}`,
        message: `must be a string; quote it: "${String(val)}"`,
      });
    } else issues.push({ severity: 'error', path: `${path}.${k}`, message: 'must be a string' });
  }
  return out;
}

function meta(o: KubeObject, issues: ObjectIssue[]) {
  const m = rec(o.object.metadata) ?? {};
  return {
    labels: strMap(m.labels, 'metadata.labels', issues),
    annotations: strMap(m.annotations, 'metadata.annotations', issues),
    m,
  };
}

function port(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535 ? v : undefined;
}

export function readNamespace(o: KubeObject, issues: ObjectIssue[]): NamespaceInfo {
  return { name: o.name, labels: meta(o, issues).labels };
}

export function readNode(o: KubeObject, issues: ObjectIssue[]): NodeInfo {
  return { name: o.name, labels: meta(o, issues).labels };
}

export function readPod(o: KubeObject, issues: ObjectIssue[]): PodInfo {
  const { labels, annotations, m } = meta(o, issues);
  const spec = rec(o.object.spec) ?? {};
  const status = rec(o.object.status) ?? {};
  const ips: string[] = [];
  const podIPs = Array.isArray(status.podIPs) ? status.podIPs : [];
  podIPs.forEach((entry, i) => {
    const ip = rec(entry)?.ip;
    if (typeof ip === 'string' && isIP(ip) !== 0) {
      if (!ips.includes(ip)) ips.push(ip);
    } else
      issues.push({
        severity: 'error',
        path: `status.podIPs[${i}].ip`,
        message: `"${String(ip)}" is not an IP address`,
      });
  });
  if (status.podIP !== undefined) {
    if (typeof status.podIP === 'string' && isIP(status.podIP) !== 0) {
      if (!ips.includes(status.podIP)) ips.unshift(status.podIP);
    } else
      issues.push({
        severity: 'error',
        path: 'status.podIP',
        message: `"${String(status.podIP)}" is not an IP address`,
      });
  }
  const nodeName = typeof spec.nodeName === 'string' ? spec.nodeName : '';
  if (spec.nodeName !== undefined && typeof spec.nodeName !== 'string')
    issues.push({ severity: 'error', path: 'spec.nodeName', message: 'must be a string' });
  const sa = spec.serviceAccountName ?? spec.serviceAccount;
  if (sa !== undefined && (typeof sa !== 'string' || sa === ''))
    issues.push({
      severity: 'error',
      path: 'spec.serviceAccountName',
      message: 'must be a non-empty string',
    });
  const namedPorts = new Map<string, number>();
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  for (const c of containers) {
    const list = rec(c)?.ports;
    for (const p of Array.isArray(list) ? list : []) {
      const pr = rec(p);
      const n = pr?.name;
      const num = port(pr?.containerPort);
      if (typeof n === 'string' && num !== undefined) namedPorts.set(n, num);
    }
  }
  let ready: boolean | undefined;
  for (const c of Array.isArray(status.conditions) ? status.conditions : []) {
    const cr = rec(c);
    if (cr?.type === 'Ready') ready = cr.status === 'True';
  }
  const owners = Array.isArray(m.ownerReferences) ? m.ownerReferences : [];
  const ownerRec = rec(owners.find((r) => rec(r)?.controller === true) ?? owners[0]);
  const owner =
    typeof ownerRec?.kind === 'string' && typeof ownerRec.name === 'string'
      ? { kind: ownerRec.kind, name: ownerRec.name }
      : undefined;
  return {
    namespace: o.namespace,
    name: o.name,
    labels,
    annotations,
    nodeName,
    ips,
    serviceAccount: typeof sa === 'string' && sa !== '' ? sa : 'default',
    phase: typeof status.phase === 'string' ? status.phase : 'Running',
    ready,
    namedPorts,
    ...(owner === undefined ? {} : { owner }),
    hostNetwork: spec.hostNetwork === true,
  };
}

export function readService(o: KubeObject, issues: ObjectIssue[]): ServiceInfo {
  const { labels } = meta(o, issues);
  const spec = rec(o.object.spec) ?? {};
  const selector = spec.selector === undefined ? undefined : strMap(spec.selector, 'spec.selector', issues);
  const clusterIPs: string[] = [];
  const listed = Array.isArray(spec.clusterIPs)
    ? spec.clusterIPs
    : spec.clusterIP === undefined
      ? []
      : [spec.clusterIP];
  listed.forEach((ip, i) => {
    if (ip === 'None' || ip === '') return;
    if (typeof ip === 'string' && isIP(ip) !== 0) {
      if (!clusterIPs.includes(ip)) clusterIPs.push(ip);
    } else
      issues.push({
        severity: 'error',
        path: `spec.clusterIPs[${i}]`,
        message: `"${String(ip)}" is not an IP address`,
      });
  });
  const ports: ServicePortInfo[] = [];
  (Array.isArray(spec.ports) ? spec.ports : []).forEach((p, i) => {
    const pr = rec(p) ?? {};
    const num = port(pr.port);
    if (num === undefined) {
      issues.push({
        severity: 'error',
        path: `spec.ports[${i}].port`,
        message: 'must be an integer in 1-65535',
      });
      return;
    }
    const tp = pr.targetPort;
    let targetPort: number | string = num;
    if (typeof tp === 'string' && tp !== '') targetPort = /^\d+$/.test(tp) ? Number(tp) : tp;
    else if (tp !== undefined) {
      const t = port(tp);
      if (t === undefined) {
        issues.push({
          severity: 'error',
          path: `spec.ports[${i}].targetPort`,
          message: 'must be a port number or a name',
        });
        return;
      }
      targetPort = t;
    }
    ports.push({
      name: typeof pr.name === 'string' ? pr.name : '',
      port: num,
      targetPort,
      protocol: typeof pr.protocol === 'string' ? pr.protocol : 'TCP',
      ...(typeof pr.appProtocol === 'string' ? { appProtocol: pr.appProtocol } : {}),
    });
  });
  return {
    namespace: o.namespace,
    name: o.name,
    labels,
    ...(selector === undefined || Object.keys(selector).length === 0 ? {} : { selector }),
    clusterIPs,
    ports,
  };
}

export function readEndpointSlice(o: KubeObject, issues: ObjectIssue[]): EndpointSliceInfo {
  const { labels } = meta(o, issues);
  const serviceName = labels['kubernetes.io/service-name'] ?? '';
  if (serviceName === '')
    issues.push({
      severity: 'warning',
      path: 'metadata.labels',
      message: 'no kubernetes.io/service-name label: the slice belongs to no Service',
    });
  const ports = (Array.isArray(o.object.ports) ? o.object.ports : [])
    .map((p) => rec(p))
    .filter((p): p is Obj => p !== undefined && port(p.port) !== undefined)
    .map((p) => ({ name: typeof p.name === 'string' ? p.name : '', port: p.port as number }));
  const endpoints = (Array.isArray(o.object.endpoints) ? o.object.endpoints : []).map((e) => {
    const er = rec(e) ?? {};
    const addresses = (Array.isArray(er.addresses) ? er.addresses : []).filter(
      (a): a is string => typeof a === 'string' && isIP(a) !== 0,
    );
    const ref = rec(er.targetRef);
    return ref?.kind === 'Pod' && typeof ref.name === 'string'
      ? { addresses, podName: ref.name }
      : { addresses };
  });
  return { namespace: o.namespace, name: o.name, serviceName, ports, endpoints };
}
