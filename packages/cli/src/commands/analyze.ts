/**
 * `weftctl analyze <dir|file>...` and `weftctl analyze --kubeconfig FILE [<dir|file>...]`: what
 * `istioctl analyze` does for the mesh config Weft reads, from files, a live cluster, or a cluster with
 * files applied on top (a file's object replaces the cluster's of the same kind, namespace and name).
 * Invalid objects are reported and skipped; they never hide problems in the valid rest. Exit 1 when any
 * error or warning is found.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import {
  analyzeConfig,
  type ConfigFile,
  type ConfigProblem,
  compileConfig,
  formatConfigProblem,
  type KubeObject,
  objectKey,
  parseFiles,
} from '@weft/config';
import {
  type Command,
  type CommandIo,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  type ParsedArgs,
} from '../command.js';
import { readCluster } from './cluster-config.js';

const CONFIG_FILE = /\.(ya?ml|json)$/i;

const keyOf = (o: KubeObject): string => objectKey(o.group, o.kind, o.namespace, o.name);

async function collect(path: string, out: string[]): Promise<void> {
  const info = await stat(path);
  if (info.isFile()) {
    out.push(path);
    return;
  }
  for (const e of await readdir(path, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(path, e.name);
    if (e.isDirectory()) await collect(p, out);
    else if (e.isFile() && CONFIG_FILE.test(e.name)) out.push(p);
  }
}

function summary(problems: readonly ConfigProblem[]): { errors: number; warnings: number; info: number } {
  return {
    errors: problems.filter((p) => p.severity === 'error').length,
    warnings: problems.filter((p) => p.severity === 'warning').length,
    info: problems.filter((p) => p.severity === 'info').length,
  };
}

async function run(args: ParsedArgs, io: CommandIo): Promise<number> {
  const output = args.flags.o ?? args.flags.output ?? 'text';
  if (output !== 'text' && output !== 'json') {
    io.stderr(`-o must be text or json (got "${output}")\n`);
    return EXIT_USAGE;
  }
  const kubeconfig = args.flags.kubeconfig;
  if (args.positionals.length === 0 && kubeconfig === undefined) {
    io.stderr(`usage: ${command.usage}\n`);
    return EXIT_USAGE;
  }
  const paths: string[] = [];
  for (const p of args.positionals) {
    try {
      await collect(resolve(io.cwd, p), paths);
    } catch (err) {
      io.stderr(`cannot read ${p}: ${err instanceof Error ? err.message : String(err)}\n`);
      return EXIT_USAGE;
    }
  }
  const files: ConfigFile[] = [];
  for (const p of paths.sort())
    files.push({ path: relative(io.cwd, p) || p, text: await readFile(p, 'utf8') });
  const options = {
    ...(args.flags['root-namespace'] === undefined ? {} : { rootNamespace: args.flags['root-namespace'] }),
    ...(args.flags['trust-domain'] === undefined ? {} : { trustDomain: args.flags['trust-domain'] }),
  };
  const parsed = parseFiles(files);
  let objects = parsed.objects;
  const problemsIn = [...parsed.problems];
  let clusterObjects = 0;
  if (kubeconfig !== undefined) {
    let cluster: Awaited<ReturnType<typeof readCluster>>;
    try {
      cluster = await readCluster(resolve(io.cwd, kubeconfig), args.flags.context);
    } catch (err) {
      io.stderr(`cannot read the cluster: ${err instanceof Error ? err.message : String(err)}\n`);
      return EXIT_FAILED;
    }
    for (const note of cluster.notes) io.stderr(`${note}\n`);
    clusterObjects = cluster.objects.length;
    problemsIn.push(...cluster.problems);
    const fromFiles = new Set(objects.map(keyOf));
    objects = [...cluster.objects.filter((o) => !fromFiles.has(keyOf(o))), ...objects];
  }
  const compiled = compileConfig(objects, options, problemsIn);
  const problems = analyzeConfig(compiled, options);
  const counts = summary(problems);
  if (output === 'json') {
    io.stdout(
      `${JSON.stringify({ files: files.length, ...(kubeconfig === undefined ? {} : { clusterObjects }), objects: compiled.index.objects.size, ...counts, problems }, null, 2)}\n`,
    );
  } else {
    for (const p of problems) io.stdout(`${formatConfigProblem(p)}\n`);
    const what =
      kubeconfig === undefined
        ? `${files.length} file(s)`
        : `the cluster (${clusterObjects} objects)${files.length === 0 ? '' : ` and ${files.length} file(s)`}`;
    if (counts.errors + counts.warnings === 0) {
      io.stdout(
        `✔ No validation issues found when analyzing ${what} (${compiled.index.objects.size} objects).\n`,
      );
    } else {
      io.stdout(`${counts.errors} error(s), ${counts.warnings} warning(s) in ${what}.\n`);
    }
  }
  return counts.errors + counts.warnings > 0 ? EXIT_FAILED : EXIT_OK;
}

export const command: Command = {
  name: 'analyze',
  summary: 'find problems in mesh config (YAML files or directories), with codes and file:line',
  usage:
    'weftctl analyze <dir|file>... | --kubeconfig FILE [--context NAME] [<dir|file>...] [-o text|json] [--root-namespace istio-system] [--trust-domain cluster.local]',
  run,
};
