/**
 * Everything a user can change in an install, with defaults that work out of the box. The same keys are
 * `weftctl install --set key=value` and the Helm chart's values.yaml.
 */
import { ManifestsError, ManifestsErrorCode } from './errors.js';

export interface Resources {
  requests: { cpu: string; memory: string };
  limits: { memory: string };
}

export interface InstallOptions {
  /** Where pilot and weft-node run. */
  namespace: string;
  image: { repository: string; tag: string; pullPolicy: 'Always' | 'IfNotPresent' | 'Never' };
  trustDomain: string;
  clusterId: string;
  /** Istio's root namespace: mesh-wide policy lives there (Istio's default, so Istio YAML applies as is). */
  rootNamespace: string;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  crds: { istio: boolean; gatewayApi: boolean };
  pilot: { replicas: number; resources: Resources };
  node: {
    resources: Resources;
    /** 0: weft-node's default (one data thread per 4 cores, at least one). */
    workerThreads: number;
    /** The node's CNI directories (GKE: /home/kubernetes/bin). */
    cniBinDir: string;
    cniConfDir: string;
    /** weft-cni: auto (fail closed for STRICT pods) | closed | open. */
    cniFailurePolicy: 'auto' | 'closed' | 'open';
    /** Never enrolled, besides the install namespace. */
    excludeNamespaces: string[];
  };
  waypoint: { resources: Resources };
}

export function defaultInstallOptions(): InstallOptions {
  return {
    namespace: 'weft-system',
    image: { repository: 'ghcr.io/weft-mesh/weft', tag: '0.1.0', pullPolicy: 'IfNotPresent' },
    trustDomain: 'cluster.local',
    clusterId: 'Kubernetes',
    rootNamespace: 'istio-system',
    logLevel: 'info',
    crds: { istio: true, gatewayApi: true },
    pilot: {
      replicas: 1,
      resources: { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } },
    },
    node: {
      resources: { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } },
      workerThreads: 0,
      cniBinDir: '/opt/cni/bin',
      cniConfDir: '/etc/cni/net.d',
      cniFailurePolicy: 'auto',
      excludeNamespaces: ['kube-system'],
    },
    waypoint: {
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
    },
  };
}

const ENUMS: Record<string, readonly string[]> = {
  'image.pullPolicy': ['Always', 'IfNotPresent', 'Never'],
  logLevel: ['error', 'warn', 'info', 'debug'],
  'node.cniFailurePolicy': ['auto', 'closed', 'open'],
};

function bad(message: string): ManifestsError {
  return new ManifestsError(ManifestsErrorCode.BadValue, message);
}

/** Parses a Helm-style value for a key whose default is `current`: numbers, true/false, {a,b} lists. */
function coerce(key: string, raw: string, current: unknown): unknown {
  if (typeof current === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw bad(`${key} must be a number (got "${raw}")`);
    return n;
  }
  if (typeof current === 'boolean') {
    if (raw !== 'true' && raw !== 'false') throw bad(`${key} must be true or false (got "${raw}")`);
    return raw === 'true';
  }
  if (Array.isArray(current)) {
    const inner = raw.startsWith('{') && raw.endsWith('}') ? raw.slice(1, -1) : raw;
    return inner
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }
  const allowed = ENUMS[key];
  if (allowed !== undefined && !allowed.includes(raw))
    throw bad(`${key} must be one of ${allowed.join(', ')}`);
  if (raw === '') throw bad(`${key} must not be empty`);
  return raw;
}

/** Applies `key=value` settings (dotted paths into InstallOptions) to a copy of `base`. */
export function applySets(base: InstallOptions, sets: readonly string[]): InstallOptions {
  const out = structuredClone(base);
  for (const set of sets) {
    const eq = set.indexOf('=');
    if (eq <= 0) throw bad(`--set needs key=value (got "${set}")`);
    const key = set.slice(0, eq);
    const path = key.split('.');
    let node: Record<string, unknown> = out as unknown as Record<string, unknown>;
    for (const part of path.slice(0, -1)) {
      const next = node[part];
      if (typeof next !== 'object' || next === null || Array.isArray(next))
        throw new ManifestsError(
          ManifestsErrorCode.UnknownValue,
          `unknown value ${key}; see weftctl install --help`,
        );
      node = next as Record<string, unknown>;
    }
    const leaf = path[path.length - 1] ?? '';
    if (!(leaf in node) || (typeof node[leaf] === 'object' && !Array.isArray(node[leaf])))
      throw new ManifestsError(
        ManifestsErrorCode.UnknownValue,
        `unknown value ${key}; see weftctl install --help`,
      );
    node[leaf] = coerce(key, set.slice(eq + 1), node[leaf]);
  }
  validateOptions(out);
  return out;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function validateOptions(o: InstallOptions): void {
  if (!DNS_LABEL.test(o.namespace)) throw bad(`namespace "${o.namespace}" is not a valid namespace name`);
  if (!DNS_LABEL.test(o.rootNamespace))
    throw bad(`rootNamespace "${o.rootNamespace}" is not a valid namespace name`);
  if (!Number.isInteger(o.pilot.replicas) || o.pilot.replicas < 1)
    throw bad('pilot.replicas must be a positive integer');
  if (!Number.isInteger(o.node.workerThreads) || o.node.workerThreads < 0)
    throw bad(
      "node.workerThreads must be 0 (weft-node's default: one data thread per 4 cores, at least one) or a positive integer",
    );
  for (const dir of [o.node.cniBinDir, o.node.cniConfDir])
    if (!dir.startsWith('/')) throw bad(`CNI directories must be absolute paths (got "${dir}")`);
}
