/**
 * weft-cni's own keys in its conflist entry. The install step writes them; tests pass them directly.
 * Pure validation with defaults.
 */

import type { NetConf } from './cni-spec.js';
import type { PeerAuthenticationObject } from './enrollment.js';
import { CniError, CniErrorCode } from './errors.js';

export type FailurePolicy = 'auto' | 'closed' | 'open';
export type LogLevelName = 'error' | 'warn' | 'info' | 'debug';

/** Pod metadata given in the config instead of the Kubernetes API (tests, non-Kubernetes runtimes). */
export interface StaticMetadata {
  /** namespace name → its labels. */
  namespaces: Record<string, { labels: Record<string, string> }>;
  /** "namespace/name" → the pod. */
  pods: Record<string, { uid?: string; labels?: Record<string, string>; serviceAccount?: string }>;
  peerAuthentications: PeerAuthenticationObject[];
}

export interface PluginConfig {
  /** weft-node's pod lifecycle socket. */
  socketPath: string;
  /** Timeout of one exchange with weft-node (connect + ack). */
  agentTimeoutMs: number;
  /** auto: fail closed for STRICT pods, open otherwise; closed/open: always. */
  failurePolicy: FailurePolicy;
  /** Kubeconfig (JSON or YAML) for pod/namespace/PeerAuthentication lookups; unused with `metadata`. */
  kubeconfig: string | undefined;
  kubeTimeoutMs: number;
  /** Istio's root namespace: mesh-wide PeerAuthentication lives there. */
  rootNamespace: string;
  /** Pods in these namespaces are never enrolled (and never looked up). */
  excludeNamespaces: string[];
  metadata: StaticMetadata | undefined;
  /** Log file (JSON lines) appended to; stderr is used as well. */
  logFile: string | undefined;
  logLevel: LogLevelName;
}

const LEVELS = new Set(['error', 'warn', 'info', 'debug']);

function bad(message: string): CniError {
  return new CniError(CniErrorCode.BadConfig, `weft-cni config: ${message}`);
}

function str(conf: NetConf, key: string, fallback: string): string {
  const v = conf[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || v === '') throw bad(`"${key}" must be a non-empty string`);
  return v;
}

function optStr(conf: NetConf, key: string): string | undefined {
  const v = conf[key];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw bad(`"${key}" must be a string`);
  return v;
}

function num(conf: NetConf, key: string, fallback: number): number {
  const v = conf[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > 600_000)
    throw bad(`"${key}" must be a positive integer of milliseconds`);
  return v;
}

function labels(value: unknown, where: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad(`${where} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw bad(`${where}.${k} must be a string`);
    out[k] = v;
  }
  return out;
}

function parseMetadata(value: unknown): StaticMetadata | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad('"metadata" must be an object');
  const m = value as Record<string, unknown>;
  const namespaces: StaticMetadata['namespaces'] = {};
  for (const [name, ns] of Object.entries((m.namespaces ?? {}) as Record<string, unknown>)) {
    namespaces[name] = {
      labels: labels((ns as { labels?: unknown } | null)?.labels, `metadata.namespaces.${name}.labels`),
    };
  }
  const pods: StaticMetadata['pods'] = {};
  for (const [key, pod] of Object.entries((m.pods ?? {}) as Record<string, unknown>)) {
    if (!key.includes('/')) throw bad(`metadata.pods keys are "namespace/name" (got "${key}")`);
    const p = (pod ?? {}) as Record<string, unknown>;
    const entry: StaticMetadata['pods'][string] = { labels: labels(p.labels, `metadata.pods.${key}.labels`) };
    if (typeof p.uid === 'string') entry.uid = p.uid;
    if (typeof p.serviceAccount === 'string') entry.serviceAccount = p.serviceAccount;
    pods[key] = entry;
  }
  const pas = m.peerAuthentications ?? [];
  if (!Array.isArray(pas))
    throw bad('metadata.peerAuthentications must be a list of PeerAuthentication objects');
  return { namespaces, pods, peerAuthentications: pas as PeerAuthenticationObject[] };
}

export function parsePluginConfig(conf: NetConf): PluginConfig {
  const policy = str(conf, 'failurePolicy', 'auto');
  if (policy !== 'auto' && policy !== 'closed' && policy !== 'open')
    throw bad('"failurePolicy" must be auto, closed or open');
  const level = str(conf, 'logLevel', 'info');
  if (!LEVELS.has(level)) throw bad('"logLevel" must be error, warn, info or debug');
  const exclude = conf.excludeNamespaces ?? ['kube-system'];
  if (!Array.isArray(exclude) || exclude.some((n) => typeof n !== 'string'))
    throw bad('"excludeNamespaces" must be a list of namespace names');
  return {
    socketPath: str(conf, 'socketPath', '/var/run/weft/node.sock'),
    agentTimeoutMs: num(conf, 'agentTimeoutMs', 5000),
    failurePolicy: policy,
    kubeconfig: optStr(conf, 'kubeconfig'),
    kubeTimeoutMs: num(conf, 'kubeTimeoutMs', 5000),
    rootNamespace: str(conf, 'rootNamespace', 'istio-system'),
    excludeNamespaces: exclude as string[],
    metadata: parseMetadata(conf.metadata),
    logFile: optStr(conf, 'logFile'),
    logLevel: level as LogLevelName,
  };
}
