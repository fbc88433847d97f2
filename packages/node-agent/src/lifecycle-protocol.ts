/**
 * The pod lifecycle protocol on weft-node's Unix socket: newline-delimited JSON, one request per line,
 * each answered in order by one line `{"ok":true}` or `{"ok":false,"error":{"code","message"}}`.
 * Pure parsing and validation; the socket lives in lifecycle-server.ts.
 */
import { isIP } from 'node:net';
import { NodeAgentError, NodeErrorCode } from './errors.js';

export interface PodInfo {
  /** Kubernetes pod uid (unique per pod incarnation). */
  uid: string;
  name: string;
  namespace: string;
  serviceAccount: string;
  /** /var/run/netns/<name> or /proc/<pid>/ns/net */
  netnsPath: string;
  ips: string[];
  labels: Record<string, string>;
}

export type LifecycleRequest =
  | { type: 'add'; pod: PodInfo }
  | { type: 'del'; uid: string }
  | { type: 'snapshot'; pods: PodInfo[] };

export interface LifecycleAck {
  ok: boolean;
  error?: { code: string; message: string };
}

function fail(message: string): never {
  throw new NodeAgentError(NodeErrorCode.BadMessage, message);
}

function str(o: Record<string, unknown>, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0) fail(`${where}: "${key}" must be a non-empty string`);
  return v;
}

export function parsePod(value: unknown, where = 'add'): PodInfo {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(`${where}: pod must be an object`);
  const o = value as Record<string, unknown>;
  const ips = o.ips;
  if (!Array.isArray(ips) || ips.length === 0 || ips.some((ip) => typeof ip !== 'string' || isIP(ip) === 0))
    fail(`${where}: "ips" must be a non-empty list of IP addresses`);
  const labels: Record<string, string> = {};
  if (o.labels !== undefined) {
    if (typeof o.labels !== 'object' || o.labels === null || Array.isArray(o.labels))
      fail(`${where}: "labels" must be an object of strings`);
    for (const [k, v] of Object.entries(o.labels)) {
      if (typeof v !== 'string') fail(`${where}: label ${k} must be a string`);
      labels[k] = v;
    }
  }
  const netnsPath = str(o, 'netnsPath', where);
  if (!netnsPath.startsWith('/')) fail(`${where}: "netnsPath" must be an absolute path`);
  return {
    uid: str(o, 'uid', where),
    name: str(o, 'name', where),
    namespace: str(o, 'namespace', where),
    serviceAccount:
      typeof o.serviceAccount === 'string' && o.serviceAccount !== '' ? o.serviceAccount : 'default',
    netnsPath,
    ips: ips as string[],
    labels,
  };
}

/** Parses one line; throws WEFT_NODE_BAD_MESSAGE with what is wrong. */
export function parseRequest(line: string): LifecycleRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    fail('not valid JSON (one JSON object per line)');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail('message must be a JSON object');
  const o = value as Record<string, unknown>;
  switch (o.type) {
    case 'add':
      return { type: 'add', pod: parsePod(o.pod ?? o, 'add') };
    case 'del':
      return { type: 'del', uid: str(o, 'uid', 'del') };
    case 'snapshot': {
      if (!Array.isArray(o.pods)) fail('snapshot: "pods" must be a list');
      return { type: 'snapshot', pods: o.pods.map((p, i) => parsePod(p, `snapshot.pods[${i}]`)) };
    }
    default:
      fail(`"type" must be add, del or snapshot (got ${JSON.stringify(o.type)})`);
  }
}

/** True when the pod opted out (`istio.io/dataplane-mode: none`): acked, never captured. */
export function optedOut(pod: PodInfo): boolean {
  return pod.labels['istio.io/dataplane-mode'] === 'none';
}
