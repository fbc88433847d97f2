/**
 * Multi-document YAML → Kubernetes objects with file:line locations (the `yaml` package's LineCounter).
 * A document that fails to parse or is not an object becomes a problem; the other documents of the file
 * still count. `kind: List` (kubectl's output) is expanded.
 */
import jsyaml from 'js-yaml';
import { LineCounter, parseDocument as parseDocument2 } from 'yaml';
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

/** A line that starts a new document: `---`, optionally followed by a comment or content (CRLF files too). */
const SEPARATOR = /^---(?=[ \t\r]|$)/;

/**
 * Parses with js-yaml (about ten times faster than `yaml` on large directories). A file is read in one pass
 * when it parses cleanly (most files); otherwise it is split on document separators and each document parsed
 * on its own, so the others still count, and a document that fails is parsed again with `yaml` and its
 * LineCounter for a precise message and line. Locations are the line each object starts on.
 */
export function parseYaml(text: string, file: string): ParseResult {
  return parseWhole(text, file) ?? parseEachDocument(text, file);
}

/** js-yaml's state as its node events show it (`depth` counts the node being opened). */
interface NodeEventState {
  readonly line: number;
  readonly depth?: number;
}

/**
 * The whole file in one js-yaml pass, each document's line taken from its top-level node's open event
 * (the first line with content, as the per-document path finds it). `undefined` when any document fails
 * or the file has directives: then parseEachDocument reports each document on its own.
 */
function parseWhole(text: string, file: string): ParseResult | undefined {
  if (text.startsWith('%') || text.includes('\n%')) return undefined;
  const lines: number[] = [];
  let docs: unknown[];
  try {
    docs = jsyaml.loadAll(text, undefined, {
      schema: jsyaml.CORE_SCHEMA,
      filename: file,
      listener(event, state) {
        if (event === 'open' && (state as unknown as NodeEventState).depth === 1) lines.push(state.line + 1);
      },
    });
  } catch {
    return undefined;
  }
  if (docs.length !== lines.length) return undefined;
  const objects: KubeObject[] = [];
  const problems: ConfigProblem[] = [];
  for (let i = 0; i < docs.length; i++)
    addDocument(docs[i], { file, line: lines[i] ?? 1 }, objects, problems);
  return { objects, problems };
}

function parseEachDocument(text: string, file: string): ParseResult {
  const objects: KubeObject[] = [];
  const problems: ConfigProblem[] = [];
  const lines = text.split('\n');
  let chunk: string[] = [];
  let chunkStart = 1; // 1-based line of the chunk's first line
  const flush = () => {
    const body = chunk.join('\n');
    const first = chunk.findIndex((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
    if (first !== -1) parseDocument(body, file, chunkStart, chunkStart + first, objects, problems);
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (SEPARATOR.test(line)) {
      flush();
      const rest = line.slice(3).trim();
      // Content after the marker (`--- {a: 1}`) belongs to the new document.
      chunk = rest === '' || rest.startsWith('#') ? [] : [rest];
      chunkStart = rest === '' || rest.startsWith('#') ? i + 2 : i + 1;
    } else if (line.startsWith('...') && line.slice(3).trim() === '') {
      flush();
      chunk = [];
      chunkStart = i + 2;
    } else chunk.push(line);
  }
  flush();
  return { objects, problems };
}

function parseDocument(
  body: string,
  file: string,
  chunkStart: number,
  objectLine: number,
  objects: KubeObject[],
  problems: ConfigProblem[],
): void {
  let value: unknown;
  try {
    value = jsyaml.load(body, { schema: jsyaml.CORE_SCHEMA, filename: file });
  } catch (err) {
    problems.push(yamlError(body, file, chunkStart, err));
    return;
  }
  addDocument(value, { file, line: objectLine }, objects, problems);
}

/** One parsed document's objects (a `List`'s items) or problem; an empty document has neither. */
function addDocument(
  value: unknown,
  location: SourceLocation,
  objects: KubeObject[],
  problems: ConfigProblem[],
): void {
  if (value === null || value === undefined) return; // empty document
  if (isRecord(value) && value.kind === 'List' && Array.isArray(value.items)) {
    for (const item of value.items) collectKubeObject(toKubeObject(item, location), objects, problems);
    return;
  }
  collectKubeObject(toKubeObject(value, location), objects, problems);
}

/** The `yaml` package's message and position for a document js-yaml refused. */
function yamlError(body: string, file: string, chunkStart: number, jsErr: unknown): ConfigProblem {
  const lineCounter = new LineCounter();
  const doc = parseDocument2(body, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const err = doc.errors[0];
  const pos = err?.linePos?.[0];
  const mark = (jsErr as { mark?: { line?: number; column?: number } }).mark;
  const line = chunkStart + (pos !== undefined ? pos.line - 1 : (mark?.line ?? 0));
  const column = pos?.col ?? (mark?.column === undefined ? undefined : mark.column + 1);
  const message =
    err?.message.split('\n')[0] ??
    (jsErr instanceof Error ? ((jsErr as { reason?: string }).reason ?? jsErr.message) : String(jsErr));
  return {
    code: ConfigCode.BadYaml,
    severity: 'error',
    message: `invalid YAML: ${message}`,
    location: { file, line, ...(column === undefined ? {} : { column }) },
  };
}

/** Files a toKubeObject result: the object with the objects, the problem (if any) with the problems. */
export function collectKubeObject(
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
