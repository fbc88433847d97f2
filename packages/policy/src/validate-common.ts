/** Shared walkers for validating plain Kubernetes objects: types, unknown fields, metadata, scope. */
import { PolicyErrorCode as C, ProblemList } from './problems.js';
import type { PolicyTargetRef, ValidateOptions, WorkloadSelector } from './types.js';

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v;
}

export const API_VERSIONS = ['security.istio.io/v1', 'security.istio.io/v1beta1'];

/** Reports every key of `obj` not in `allowed`. */
export function checkFields(obj: Obj, allowed: readonly string[], path: string, p: ProblemList): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      p.error(
        C.UnknownField,
        path === '' ? key : `${path}.${key}`,
        `unknown field "${key}"; expected one of ${allowed.join(', ')}`,
      );
    }
  }
}

export function getObj(obj: Obj, key: string, path: string, p: ProblemList): Obj | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) {
    p.error(C.BadType, `${path}.${key}`, `must be an object, got ${typeName(v)}`);
    return undefined;
  }
  return v;
}

export function getString(obj: Obj, key: string, path: string, p: ProblemList): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    p.error(C.BadType, `${path}.${key}`, `must be a string, got ${typeName(v)}`);
    return undefined;
  }
  return v;
}

export function getBool(obj: Obj, key: string, path: string, p: ProblemList): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') {
    p.error(C.BadType, `${path}.${key}`, `must be true or false, got ${typeName(v)}`);
    return undefined;
  }
  return v;
}

export function getList(obj: Obj, key: string, path: string, p: ProblemList): unknown[] {
  const v = obj[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    p.error(C.BadType, `${path}.${key}`, `must be a list, got ${typeName(v)}`);
    return [];
  }
  return v;
}

/**
 * A list of strings; each non-string or empty entry is reported. `check` validates one value and
 * reports through `p` itself. Returns only the well-typed values.
 */
export function getStringList(
  obj: Obj,
  key: string,
  path: string,
  p: ProblemList,
  check?: (value: string, path: string) => void,
): string[] {
  const out: string[] = [];
  getList(obj, key, path, p).forEach((v, i) => {
    const at = `${path}.${key}[${i}]`;
    if (typeof v !== 'string') p.error(C.BadType, at, `must be a string, got ${typeName(v)}`);
    else if (v === '') p.error(C.BadValue, at, 'empty value is not allowed');
    else {
      check?.(v, at);
      out.push(v);
    }
  });
  return out;
}

/** `*` may appear only alone, at the start or at the end. */
export function checkWildcard(v: string, path: string, p: ProblemList): boolean {
  const inner = v.length > 1 ? v.slice(1, -1) : '';
  if (inner.includes('*') || (v.length > 1 && v.startsWith('*') && v.endsWith('*'))) {
    // Istio accepts it, but the inner "*" is matched literally: almost certainly not what was meant
    p.warn(
      C.BadValue,
      path,
      `"${v}": "*" works only alone, as a prefix or as a suffix; here it is matched literally`,
    );
    return false;
  }
  return true;
}

export interface Metadata {
  readonly name: string;
  readonly namespace: string;
  readonly creationTimestamp?: string;
  readonly annotations: Readonly<Record<string, string>>;
}

/** Reads metadata leniently (so problems can name the resource) and the header fields strictly. */
export function readHeader(
  input: unknown,
  kind: string,
  options: ValidateOptions | undefined,
): { meta: Metadata; p: ProblemList; spec: Obj | undefined; apiVersion: string } {
  const obj = isObj(input) ? input : {};
  const md = isObj(obj.metadata) ? obj.metadata : {};
  const name = typeof md.name === 'string' ? md.name : '';
  const namespace =
    typeof md.namespace === 'string' && md.namespace !== ''
      ? md.namespace
      : (options?.defaultNamespace ?? 'default');
  const p = new ProblemList(`${kind} ${namespace}/${name || '<unnamed>'}`);
  if (!isObj(input)) p.error(C.BadType, '', `must be an object, got ${typeName(input)}`);
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  if (obj.apiVersion !== undefined && !API_VERSIONS.includes(apiVersion)) {
    p.error(C.BadKind, 'apiVersion', `"${String(obj.apiVersion)}" is not one of ${API_VERSIONS.join(', ')}`);
  }
  if (obj.kind !== undefined && obj.kind !== kind) {
    p.error(C.BadKind, 'kind', `expected ${kind}, got "${String(obj.kind)}"`);
  }
  checkFields(obj, ['apiVersion', 'kind', 'metadata', 'spec', 'status'], '', p);
  if (name === '') p.error(C.MissingField, 'metadata.name', 'a name is required');
  const annotations: Record<string, string> = {};
  if (isObj(md.annotations)) {
    for (const [k, v] of Object.entries(md.annotations)) if (typeof v === 'string') annotations[k] = v;
  }
  const created = md.creationTimestamp;
  const creationTimestamp =
    typeof created === 'string' ? created : created instanceof Date ? created.toISOString() : undefined;
  const meta: Metadata =
    creationTimestamp === undefined
      ? { name, namespace, annotations }
      : { name, namespace, annotations, creationTimestamp };
  let spec: Obj | undefined;
  if (obj.spec === undefined || obj.spec === null) spec = {};
  else if (isObj(obj.spec)) spec = obj.spec;
  else p.error(C.BadType, 'spec', `must be an object, got ${typeName(obj.spec)}`);
  return { meta, p, spec, apiVersion: apiVersion || API_VERSIONS[0]! };
}

export function readSelector(spec: Obj, p: ProblemList): WorkloadSelector | undefined {
  const sel = getObj(spec, 'selector', 'spec', p);
  if (sel === undefined) return undefined;
  checkFields(sel, ['matchLabels'], 'spec.selector', p);
  const labels = getObj(sel, 'matchLabels', 'spec.selector', p) ?? {};
  const matchLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (typeof v !== 'string') {
      p.error(
        C.BadType,
        `spec.selector.matchLabels.${k}`,
        `label values must be strings, got ${typeName(v)}`,
      );
    } else if (k === '') p.error(C.BadValue, 'spec.selector.matchLabels', 'empty label key');
    else if (k.includes('*') || v.includes('*')) {
      p.error(C.BadValue, `spec.selector.matchLabels.${k}`, 'wildcards are not supported in a selector');
    } else matchLabels[k] = v;
  }
  if (Object.keys(labels).length === 0) {
    p.warn(
      C.MissingField,
      'spec.selector',
      'workload selector without labels selects every workload in the namespace',
    );
  }
  return { matchLabels };
}

const TARGET_KINDS: Record<string, readonly string[]> = {
  Gateway: ['gateway.networking.k8s.io'],
  GatewayClass: ['gateway.networking.k8s.io'],
  Service: ['', 'core'],
  ServiceEntry: ['networking.istio.io'],
};

/** spec.targetRef and spec.targetRefs (not both), each a Gateway/Service in the policy's namespace. */
export function readTargetRefs(spec: Obj, namespace: string, p: ProblemList): PolicyTargetRef[] {
  const out: PolicyTargetRef[] = [];
  const one = spec.targetRef;
  const entries: Array<[unknown, string]> = [];
  if (one !== undefined && one !== null) entries.push([one, 'spec.targetRef']);
  getList(spec, 'targetRefs', 'spec', p).forEach((v, i) => {
    entries.push([v, `spec.targetRefs[${i}]`]);
  });
  if (one !== undefined && one !== null && spec.targetRefs !== undefined) {
    p.error(C.Conflict, 'spec.targetRef', 'set targetRef or targetRefs, not both');
  }
  for (const [v, path] of entries) {
    if (!isObj(v)) {
      p.error(C.BadType, path, `must be an object, got ${typeName(v)}`);
      continue;
    }
    checkFields(v, ['group', 'kind', 'name', 'namespace'], path, p);
    const group = getString(v, 'group', path, p) ?? '';
    const kind = getString(v, 'kind', path, p) ?? '';
    const name = getString(v, 'name', path, p) ?? '';
    const ns = getString(v, 'namespace', path, p);
    const groups = TARGET_KINDS[kind];
    if (groups === undefined) {
      p.error(
        C.BadTargetRef,
        `${path}.kind`,
        `kind "${kind}" is not one of ${Object.keys(TARGET_KINDS).join(', ')}`,
      );
      continue;
    }
    if (!groups.includes(group)) {
      p.error(C.BadTargetRef, `${path}.group`, `${kind} belongs to group "${groups[0]}", got "${group}"`);
    }
    if (name === '') p.error(C.MissingField, `${path}.name`, 'a target name is required');
    if (ns !== undefined && ns !== '') {
      // Istio rejects any namespace here, even the policy's own: references are always local
      p.error(
        C.BadTargetRef,
        `${path}.namespace`,
        "must not be set: targetRefs refer to the policy's own namespace",
      );
    }
    out.push({ group, kind: kind as PolicyTargetRef['kind'], name, namespace });
  }
  return out;
}

/** `sa` or `ns/sa`, no wildcards, at most 320 characters (Istio's CheckServiceAccount). */
export function checkServiceAccountValue(v: string, path: string, p: ProblemList): void {
  const parts = v.split('/');
  if (v.includes('*') || parts.length > 2 || parts.some((x) => x === '') || v.length > 320) {
    p.error(
      C.BadValue,
      path,
      `"${v}" must be <service-account> or <namespace>/<service-account>, without wildcards`,
    );
  }
}

/** A port number in a string ("8080"): 0-65535 as Istio accepts in AuthorizationPolicy, or from `min`. */
export function parsePort(v: string, min = 0): number | null {
  if (!/^[0-9]{1,5}$/.test(v)) return null;
  const n = Number(v);
  return n >= min && n <= 65535 ? n : null;
}

/** Go/proto duration text ("5s", "1.5s", "500ms", "1m30s") in milliseconds. */
export function parseDurationMs(v: string): number | null {
  const re = /([0-9]+(?:\.[0-9]+)?)(h|m|s|ms|us|µs|ns)/gy;
  let total = 0;
  let consumed = 0;
  const unit: Record<string, number> = {
    h: 3_600_000,
    m: 60_000,
    s: 1000,
    ms: 1,
    us: 0.001,
    µs: 0.001,
    ns: 1e-6,
  };
  for (let m = re.exec(v); m !== null; m = re.exec(v)) {
    total += Number(m[1]) * unit[m[2]!]!;
    consumed = re.lastIndex;
  }
  return consumed === v.length && v.length > 0 ? total : null;
}
