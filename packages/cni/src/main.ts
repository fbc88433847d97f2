import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage, isWeftError } from '@weft/telemetry/errors';
import { install, uninstall, watchInstall } from './install.js';
import { pluginLogger } from './log.js';
import { defaultDeps, runPlugin } from './plugin.js';

export const VERSION = '0.1.0';

const USAGE = `weft-cni: chained CNI plugin that hands ambient pods to weft-node.

As a CNI plugin the container runtime runs it with CNI_COMMAND=ADD|DEL|CHECK|VERSION and the network
configuration on stdin.

  weft-cni install   [flags]   copy the plugin to the node and chain it into the primary conflist
                   --watch     then keep it chained (re-install when the config directory changes)
  weft-cni uninstall [flags]   remove it again
  weft-cni --version | --help

Flags (defaults for weft-node's init container):
  --cni-bin-dir DIR          node CNI bin dir as mounted here        (/host/opt/cni/bin)
  --cni-conf-dir DIR         node CNI config dir as mounted here     (/host/etc/cni/net.d)
  --host-cni-conf-dir DIR    that config dir as the node sees it     (/etc/cni/net.d)
  --plugin-source FILE       the plugin executable to copy           (/opt/weft/cni/weft-cni)
  --socket PATH              weft-node's lifecycle socket            (/var/run/weft/node.sock)
  --failure-policy P         auto (closed for STRICT) | closed | open (auto)
  --exclude-namespaces A,B   never enrolled                          (kube-system)
  --root-namespace NS        Istio root namespace                    (istio-system)
  --log-file FILE            plugin log, as the node sees it         (/var/run/weft/cni.log)
  --log-level L              error|warn|info|debug                   (info)
  --wait-seconds N           wait for the primary CNI's config       (300)
  --service-account-dir DIR  token + ca.crt for the plugin's kubeconfig
                             (/var/run/secrets/kubernetes.io/serviceaccount; skipped when absent)
`;

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function runAsPlugin(): Promise<void> {
  const stdin = process.env.CNI_COMMAND === 'VERSION' ? '' : await readStdin();
  const out = await runPlugin(process.env, stdin, { ...defaultDeps, log: pluginLogger });
  if (out.stdout !== '') process.stdout.write(`${out.stdout}\n`);
  process.exitCode = out.exitCode;
}

function serviceAccount(
  dir: string,
  env: NodeJS.ProcessEnv,
): { server: string; token: string; caPem: string } | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  try {
    const token = readFileSync(join(dir, 'token'), 'utf8').trim();
    const caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
    if (host === undefined || host === '') return undefined;
    const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return { server, token, caPem };
  } catch {
    return undefined;
  }
}

async function runInstall(verb: 'install' | 'uninstall', args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'cni-bin-dir': { type: 'string', default: '/host/opt/cni/bin' },
      'cni-conf-dir': { type: 'string', default: '/host/etc/cni/net.d' },
      'host-cni-conf-dir': { type: 'string', default: '/etc/cni/net.d' },
      'plugin-source': { type: 'string', default: '/opt/weft/cni/weft-cni' },
      socket: { type: 'string', default: '/var/run/weft/node.sock' },
      'failure-policy': { type: 'string', default: 'auto' },
      'exclude-namespaces': { type: 'string', default: 'kube-system' },
      'root-namespace': { type: 'string', default: 'istio-system' },
      'log-file': { type: 'string', default: '/var/run/weft/cni.log' },
      'log-level': { type: 'string', default: 'info' },
      'wait-seconds': { type: 'string', default: '300' },
      'service-account-dir': { type: 'string', default: '/var/run/secrets/kubernetes.io/serviceaccount' },
      watch: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (verb === 'uninstall') {
    const changed = uninstall({ binDir: values['cni-bin-dir'], confDir: values['cni-conf-dir'] });
    process.stdout.write(
      changed.length === 0 ? 'weft-cni: nothing to remove\n' : `removed: ${changed.join(', ')}\n`,
    );
    return 0;
  }
  const wait = Number(values['wait-seconds']);
  if (!Number.isFinite(wait) || wait < 0) throw new Error('--wait-seconds must be a number of seconds');
  const kube = serviceAccount(values['service-account-dir'], process.env);
  const opts = {
    binDir: values['cni-bin-dir'],
    confDir: values['cni-conf-dir'],
    hostConfDir: values['host-cni-conf-dir'],
    pluginSource: values['plugin-source'],
    pluginConfig: {
      socketPath: values.socket,
      failurePolicy: values['failure-policy'],
      excludeNamespaces: values['exclude-namespaces'].split(',').filter((n) => n !== ''),
      rootNamespace: values['root-namespace'],
      logFile: values['log-file'],
      logLevel: values['log-level'],
    },
    ...(kube === undefined ? {} : { kube }),
    waitMs: wait * 1000,
  };
  const report = await install(opts);
  process.stdout.write(
    report.changed.length === 0
      ? `weft-cni: already installed in ${report.conflist}\n`
      : `weft-cni: installed; wrote ${report.changed.join(', ')}\n`,
  );
  if (values.watch) {
    // The DaemonSet's cni container: keep the entry in place until the pod is stopped.
    const stop = new AbortController();
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop.abort());
    process.stdout.write(`weft-cni: watching ${values['cni-conf-dir']}\n`);
    const current = () => {
      const fresh = serviceAccount(values['service-account-dir'], process.env);
      return fresh === undefined ? opts : { ...opts, kube: fresh };
    };
    await watchInstall(current, stop.signal, (r) =>
      process.stdout.write(`weft-cni: re-installed; wrote ${r.changed.join(', ')}\n`),
    );
  }
  return 0;
}

/**
 * Entry point of weft-cni. With CNI_COMMAND set it is the CNI plugin (stdout is the CNI result);
 * otherwise `install` / `uninstall` for the DaemonSet's init container.
 */
export async function main(argv: readonly string[]): Promise<void> {
  if (process.env.CNI_COMMAND !== undefined) return runAsPlugin();
  const [verb, ...rest] = argv;
  try {
    if (verb === '--version' || verb === 'version') {
      process.stdout.write(`weft-cni ${VERSION}\n`);
      return;
    }
    if (verb === 'install' || verb === 'uninstall') {
      process.exitCode = await runInstall(verb, rest);
      return;
    }
    process.stdout.write(USAGE);
    process.exitCode = verb === undefined || verb === '--help' || verb === 'help' ? 0 : 2;
  } catch (err) {
    process.stderr.write(
      `weft-cni ${verb}: ${isWeftError(err) ? `${err.code}: ` : ''}${errorMessage(err)}\n`,
    );
    process.exitCode = isWeftError(err) ? 1 : 2;
  }
}
