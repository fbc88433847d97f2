/**
 * `weftctl waypoint apply|list|delete|generate`: what `istioctl waypoint` does, for the embedded config
 * source (a directory of YAML that weft-pilot watches). `apply` writes the namespace's waypoint Gateway
 * (gatewayClassName istio-waypoint, listener `mesh` 15008 HBONE) and with --enroll-namespace labels the
 * Namespace `istio.io/use-waypoint=<name>`; edits keep the rest of each file (comments included).
 */
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { type Document, parseAllDocuments } from 'yaml';
import {
  type Command,
  type CommandIo,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  type ParsedArgs,
} from '../command.js';
import { formatData, outputFormat, toYaml } from '../output.js';

const USE_WAYPOINT = 'istio.io/use-waypoint';
const WAYPOINT_FOR = 'istio.io/waypoint-for';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The Gateway `istioctl waypoint apply` creates. */
export function waypointGateway(
  namespace: string,
  name: string,
  waypointFor: string,
): Record<string, unknown> {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name, namespace, labels: { [WAYPOINT_FOR]: waypointFor } },
    spec: {
      gatewayClassName: 'istio-waypoint',
      listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
    },
  };
}

interface Doc {
  readonly file: string;
  readonly doc: Document;
  readonly kind: string | undefined;
  readonly name: string | undefined;
  readonly namespace: string | undefined;
  readonly value: Record<string, unknown>;
}

function* yamlFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir).sort()) {
    if (entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* yamlFiles(path);
    else if (/\.ya?ml$/.test(entry)) yield path;
  }
}

function loadDocs(dir: string): Map<string, Doc[]> {
  const byFile = new Map<string, Doc[]>();
  for (const file of yamlFiles(dir)) {
    const docs: Doc[] = [];
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      if (!('contents' in doc)) continue;
      const js: unknown = doc.toJS();
      const value = typeof js === 'object' && js !== null ? (js as Record<string, unknown>) : {};
      const meta = (value.metadata ?? {}) as { name?: unknown; namespace?: unknown };
      docs.push({
        file,
        doc,
        kind: typeof value.kind === 'string' ? value.kind : undefined,
        name: typeof meta.name === 'string' ? meta.name : undefined,
        namespace: typeof meta.namespace === 'string' ? meta.namespace : undefined,
        value,
      });
    }
    byFile.set(file, docs);
  }
  return byFile;
}

function writeDocs(file: string, docs: readonly Doc[]): void {
  if (docs.length === 0) {
    unlinkSync(file);
    return;
  }
  const text = docs
    .map((d, i) => {
      const s = String(d.doc);
      return i === 0 ? s : `---\n${s.replace(/^---\n/, '')}`;
    })
    .join('');
  writeFileSync(file, text);
}

function isWaypoint(d: Doc): boolean {
  return (
    d.kind === 'Gateway' &&
    (d.value.spec as { gatewayClassName?: unknown } | undefined)?.gatewayClassName === 'istio-waypoint'
  );
}

function labelsOf(d: Doc): Record<string, string> {
  return ((d.value.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {}) as Record<
    string,
    string
  >;
}

interface Options {
  dir: string;
  namespace: string;
  name: string;
}

function apply(o: Options, waypointFor: string, enroll: boolean, io: CommandIo): number {
  const files = loadDocs(o.dir);
  const gateway = waypointGateway(o.namespace, o.name, waypointFor);
  let written: string | undefined;
  for (const [file, docs] of files) {
    const i = docs.findIndex(
      (d) => isWaypoint(d) && d.name === o.name && (d.namespace ?? 'default') === o.namespace,
    );
    if (i === -1) continue;
    const d = docs[i] as Doc;
    d.doc.setIn(['metadata', 'labels', WAYPOINT_FOR], waypointFor);
    d.doc.setIn(['spec', 'gatewayClassName'], 'istio-waypoint');
    d.doc.setIn(['spec', 'listeners'], d.doc.createNode([{ name: 'mesh', port: 15008, protocol: 'HBONE' }]));
    writeDocs(file, docs);
    written = file;
  }
  if (written === undefined) {
    written = join(o.dir, `waypoint-${o.namespace}-${o.name}.yaml`);
    writeFileSync(written, `# Written by weftctl waypoint apply -n ${o.namespace}\n${toYaml(gateway)}`);
  }
  io.stdout(`✅ waypoint ${o.namespace}/${o.name} applied (${relative(io.cwd, written) || written})\n`);
  if (!enroll) return EXIT_OK;
  let labelled = false;
  for (const [file, docs] of files) {
    const ns = docs.find((d) => d.kind === 'Namespace' && d.name === o.namespace);
    if (ns === undefined) continue;
    ns.doc.setIn(['metadata', 'labels', USE_WAYPOINT], o.name);
    writeDocs(file, docs);
    labelled = true;
  }
  if (!labelled) {
    const file = join(o.dir, `namespace-${o.namespace}.yaml`);
    writeFileSync(
      file,
      toYaml({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: o.namespace, labels: { [USE_WAYPOINT]: o.name } },
      }),
    );
  }
  io.stdout(`✅ namespace ${o.namespace} labelled ${USE_WAYPOINT}=${o.name}\n`);
  return EXIT_OK;
}

function remove(o: Options, io: CommandIo): number {
  const files = loadDocs(o.dir);
  let found = false;
  for (const [file, docs] of files) {
    const kept = docs.filter(
      (d) => !(isWaypoint(d) && d.name === o.name && (d.namespace ?? 'default') === o.namespace),
    );
    let changed = kept.length !== docs.length;
    found ||= changed;
    for (const d of kept) {
      if (d.kind === 'Namespace' && d.name === o.namespace && labelsOf(d)[USE_WAYPOINT] === o.name) {
        d.doc.deleteIn(['metadata', 'labels', USE_WAYPOINT]);
        changed = true;
      }
    }
    if (changed) writeDocs(file, kept);
  }
  if (!found) {
    io.stderr(`no waypoint ${o.namespace}/${o.name} in ${o.dir}\n`);
    return EXIT_FAILED;
  }
  io.stdout(`✅ waypoint ${o.namespace}/${o.name} deleted\n`);
  return EXIT_OK;
}

interface Row {
  namespace: string;
  name: string;
  for: string;
  usedBy: string[];
  file: string;
}

function list(
  dir: string,
  namespace: string | undefined,
  io: CommandIo,
  format: 'text' | 'json' | 'yaml',
): number {
  const files = loadDocs(dir);
  const all = [...files.values()].flat();
  const rows: Row[] = [];
  for (const d of all) {
    if (!isWaypoint(d)) continue;
    const ns = d.namespace ?? 'default';
    if (namespace !== undefined && ns !== namespace) continue;
    const name = d.name ?? '';
    const usedBy = all
      .filter(
        (x) =>
          (x.kind === 'Namespace' ? x.name === ns : (x.namespace ?? 'default') === ns) &&
          labelsOf(x)[USE_WAYPOINT] === name,
      )
      .map((x) => `${x.kind}/${x.name ?? ''}`);
    rows.push({
      namespace: ns,
      name,
      for: labelsOf(d)[WAYPOINT_FOR] ?? 'service',
      usedBy,
      file: relative(io.cwd, d.file) || d.file,
    });
  }
  if (format !== 'text') {
    io.stdout(formatData(rows, format));
    return EXIT_OK;
  }
  if (rows.length === 0) {
    io.stdout('No waypoints found.\n');
    return EXIT_OK;
  }
  const table = [
    ['NAMESPACE', 'NAME', 'WAYPOINT FOR', 'USED BY'],
    ...rows.map((r) => [r.namespace, r.name, r.for, r.usedBy.join(',') || '-']),
  ];
  const widths = table[0]?.map((_, c) => Math.max(...table.map((row) => (row[c] ?? '').length))) ?? [];
  for (const row of table)
    io.stdout(
      `${row
        .map((cell, c) => cell.padEnd((widths[c] ?? 0) + 2))
        .join('')
        .trimEnd()}\n`,
    );
  return EXIT_OK;
}

export const command: Command = {
  name: 'waypoint',
  summary: "manage a namespace's waypoint (L7 proxy): apply, list, delete, generate",
  usage: [
    'weftctl waypoint apply -n NS [--name waypoint] [--for service|workload|all] [--enroll-namespace] --config-dir DIR',
    'weftctl waypoint list [-n NS] --config-dir DIR [-o json|yaml]',
    'weftctl waypoint delete -n NS [--name waypoint] --config-dir DIR',
    'weftctl waypoint generate -n NS [--name waypoint] [--for service]     print the Gateway YAML',
    '',
    'The config directory is the YAML weft-pilot watches (embedded mode); CONFIG_DIR (as for weft-pilot) sets a default.',
    'A waypoint is a Gateway with gatewayClassName istio-waypoint and a listener mesh 15008 HBONE; namespaces,',
    'services or pods labelled istio.io/use-waypoint=<name> send their traffic through it.',
  ].join('\n'),
  async run(args: ParsedArgs, io: CommandIo): Promise<number> {
    const verb = args.positionals[0];
    const namespace = args.flags.namespace;
    const name = args.flags.name ?? 'waypoint';
    const waypointFor = args.flags.for ?? 'service';
    const usage = (why: string): number => {
      io.stderr(`${why}\n\nusage:\n${command.usage}\n`);
      return EXIT_USAGE;
    };
    if (verb === undefined || !['apply', 'list', 'delete', 'generate'].includes(verb)) {
      return usage(verb === undefined ? 'waypoint needs a verb' : `unknown verb "${verb}"`);
    }
    if (!DNS_LABEL.test(name)) return usage(`--name "${name}" is not a valid Kubernetes name`);
    if (!['service', 'workload', 'all', 'none'].includes(waypointFor))
      return usage('--for must be service, workload, all or none');
    if (namespace !== undefined && !DNS_LABEL.test(namespace))
      return usage(`namespace "${namespace}" is not a valid name`);
    if (verb === 'generate') {
      io.stdout(toYaml(waypointGateway(namespace ?? 'default', name, waypointFor)));
      return EXIT_OK;
    }
    const format = outputFormat(args);
    if (format !== 'text' && format !== 'json' && format !== 'yaml') return usage(format);
    const dirFlag = args.flags['config-dir'] ?? io.env.CONFIG_DIR;
    if (dirFlag === undefined || dirFlag === 'true') {
      return usage(
        'pass --config-dir DIR (the YAML directory weft-pilot watches); cluster mode is not supported yet, use `weftctl waypoint generate | kubectl apply -f -`',
      );
    }
    const dir = resolve(io.cwd, dirFlag);
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      return usage(`--config-dir ${dirFlag} is not a directory`);
    if (verb === 'list') return list(dir, namespace, io, format);
    if (namespace === undefined) return usage(`waypoint ${verb} needs -n NAMESPACE`);
    const enroll = args.flags['enroll-namespace'] !== undefined && args.flags['enroll-namespace'] !== 'false';
    if (verb === 'apply') return apply({ dir, namespace, name }, waypointFor, enroll, io);
    return remove({ dir, namespace, name }, io);
  },
};
