/**
 * Multi-document YAML → Kubernetes objects with file:line locations (the `yaml` package's LineCounter).
 * A document that fails to parse or is not an object becomes a problem; the other documents of the file
 * still count. `kind: List` (kubectl's output) is expanded.
 */
import { LineCounter, parseAllDocuments } from 'yaml';
import { groupOf, kindInfo } from './kinds.js';
import { ConfigCode, type ConfigProblem, type SourceLocation } from './problems.js';

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  /** API group ('' for the core group). */
  readonly group: string;
  /** '' for cluster-scoped kinds; `default` when a namespaced object has none. */
  readonly namespace: string;
  readonly name: string;
  readonly object: Readonly<Record<string, unknown>>;
  readonly location?: SourceLocation;
}

export interface ParseResult {
  readonly objects: KubeObject[];
  readonly problems: ConfigProblem[];
}

/** Default limit for one file (Kubernetes objects are at most ~1.5 MiB in etcd). */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One object from parsed JSON (also used by the Kubernetes source, where there is no file). */
export function toKubeObject(
  value: unknown,
  location: SourceLocation | undefined,
): { object?: KubeObject; problem?: ConfigProblem } {
  const at = location === undefined ? {} : { location };
  if (!isRecord(value)) {
    return {
      problem: {
        code: ConfigCode.NotAnObject,
        severity: 'error',
        message: 'document is not a mapping',
        ...at,
      },
    };
  }
  const { apiVersion, kind, metadata } = value;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || apiVersion === '' || kind === '') {
    return {
      problem: {
        code: ConfigCode.NotAnObject,
        severity: 'error',
        message: 'not a Kubernetes object: apiVersion and kind must be non-empty strings',
        ...at,
      },
    };
  }
  const name = isRecord(metadata) ? metadata.name : undefined;
  if (typeof name !== 'string' || name === '') {
    return {
      problem: {
        code: ConfigCode.NotAnObject,
        severity: 'error',
        message: `${kind} without metadata.name`,
        ...at,
      },
    };
  }
  const info = kindInfo(apiVersion, kind);
  if (info === undefined) {
    return {
      problem: {
        code: ConfigCode.UnknownKind,
        severity: 'warning',
        resource: `${kind} ${name}`,
        message: `${apiVersion} ${kind} is not a kind Weft reads; ignored`,
        ...at,
      },
    };
  }
  const ns = isRecord(metadata) ? metadata.namespace : undefined;
  const namespace = info.namespaced ? (typeof ns === 'string' && ns !== '' ? ns : 'default') : '';
  return {
    object: { apiVersion, kind, group: groupOf(apiVersion), namespace, name, object: value, ...at },
  };
}

export function parseYaml(text: string, file: string): ParseResult {
  const objects: KubeObject[] = [];
  const problems: ConfigProblem[] = [];
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  for (const doc of docs) {
    const start = doc.contents?.range?.[0] ?? doc.range[0];
    const line = lineCounter.linePos(start).line;
    const location: SourceLocation = { file, line };
    if (doc.errors.length > 0) {
      const err = doc.errors[0];
      const pos = err?.linePos?.[0];
      problems.push({
        code: ConfigCode.BadYaml,
        severity: 'error',
        message: `invalid YAML: ${err?.message.split('\n')[0] ?? 'parse error'}`,
        location: { file, line: pos?.line ?? line, ...(pos === undefined ? {} : { column: pos.col }) },
      });
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      problems.push({
        code: ConfigCode.BadYaml,
        severity: 'error',
        message: `invalid YAML: ${err instanceof Error ? err.message : String(err)}`,
        location,
      });
      continue;
    }
    if (value === null || value === undefined) continue; // empty document (e.g. a trailing ---)
    if (isRecord(value) && value.kind === 'List' && Array.isArray(value.items)) {
      for (const item of value.items) push(toKubeObject(item, location), objects, problems);
      continue;
    }
    push(toKubeObject(value, location), objects, problems);
  }
  return { objects, problems };
}

function push(
  r: { object?: KubeObject; problem?: ConfigProblem },
  objects: KubeObject[],
  problems: ConfigProblem[],
): void {
  if (r.object !== undefined) objects.push(r.object);
  if (r.problem !== undefined) problems.push(r.problem);
}

/** `Kind namespace/name` (or `Kind name` for cluster-scoped objects). */
export function describeObject(o: Pick<KubeObject, 'kind' | 'namespace' | 'name'>): string {
  return o.namespace === '' ? `${o.kind} ${o.name}` : `${o.kind} ${o.namespace}/${o.name}`;
}
