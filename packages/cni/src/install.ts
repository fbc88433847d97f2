/**
 * `weft-cni install` / `uninstall`, run by weft-node's init container with the node's CNI directories
 * mounted: copy the plugin executable into the CNI bin directory, write a kubeconfig for its lookups,
 * and chain it into the primary conflist. Idempotent: running it again changes nothing.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  addPlugin,
  type Conflist,
  PLUGIN_TYPE,
  primaryConfigFile,
  removePlugin,
  toConflist,
} from './conflist.js';
import { CniError, CniErrorCode } from './errors.js';

export const KUBECONFIG_NAME = 'weft-cni-kubeconfig';

export interface InstallOptions {
  /** The node's CNI bin directory as mounted in this container (e.g. /host/opt/cni/bin). */
  binDir: string;
  /** The node's CNI config directory as mounted here (e.g. /host/etc/cni/net.d). */
  confDir: string;
  /** The same config directory as the node sees it (written into the plugin config). */
  hostConfDir: string;
  /** The plugin executable to copy. */
  pluginSource: string;
  /** Plugin settings written into the conflist entry (socketPath, failurePolicy, excludeNamespaces…). */
  pluginConfig: Record<string, unknown>;
  /** Service-account credentials for the plugin's kubeconfig; none: no kubeconfig (static config only). */
  kube?: { server: string; token: string; caPem: string };
  /** How long to wait for the primary CNI to write its config. */
  waitMs: number;
  /** Resolves when it is time to look again (tests pass an immediate one). */
  pause?: (ms: number) => Promise<void>;
}

export interface InstallReport {
  conflist: string;
  /** What was written (empty when everything was already in place). */
  changed: string[];
}

/** Write to a temporary name then rename, so the runtime never reads half a file. */
function writeAtomic(path: string, data: string | Buffer, mode = 0o644): void {
  const tmp = join(path, '..', `.${path.split('/').pop()}.weft-tmp`);
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, path);
}

function readJson(path: string): Record<string, unknown> {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new CniError(CniErrorCode.Install, `cannot read CNI config ${path}: ${String(err)}`, {
      cause: err,
    });
  }
}

function stringify(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

async function waitForPrimary(opts: InstallOptions): Promise<string> {
  const deadline = Date.now() + opts.waitMs;
  const pause = opts.pause ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (;;) {
    const names = existsSync(opts.confDir) ? readdirSync(opts.confDir) : [];
    const primary = primaryConfigFile(names);
    if (primary !== undefined) return primary;
    if (Date.now() >= deadline)
      throw new CniError(
        CniErrorCode.NoConflist,
        `no CNI network config (*.conflist, *.conf) in ${opts.confDir} after ${opts.waitMs} ms: install the cluster's primary CNI first, or fix the mounted directory`,
      );
    await pause(1000);
  }
}

export function kubeconfigJson(kube: NonNullable<InstallOptions['kube']>): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'weft-cni',
    clusters: [
      {
        name: 'local',
        cluster: {
          server: kube.server,
          'certificate-authority-data': Buffer.from(kube.caPem).toString('base64'),
        },
      },
    ],
    users: [{ name: 'weft-cni', user: { token: kube.token } }],
    contexts: [{ name: 'weft-cni', context: { cluster: 'local', user: 'weft-cni' } }],
  });
}

export async function install(opts: InstallOptions): Promise<InstallReport> {
  const changed: string[] = [];
  const primary = await waitForPrimary(opts);
  try {
    const target = join(opts.binDir, PLUGIN_TYPE);
    const source = readFileSync(opts.pluginSource);
    if (!existsSync(target) || !readFileSync(target).equals(source)) {
      writeAtomic(target, source, 0o755);
      changed.push(target);
    }
    const pluginConfig = { ...opts.pluginConfig };
    if (opts.kube !== undefined) {
      const kcPath = join(opts.confDir, KUBECONFIG_NAME);
      const text = kubeconfigJson(opts.kube);
      if (!existsSync(kcPath) || readFileSync(kcPath, 'utf8') !== text) {
        writeAtomic(kcPath, text, 0o600);
        changed.push(kcPath);
      }
      pluginConfig.kubeconfig = join(opts.hostConfDir, KUBECONFIG_NAME);
    }
    const primaryPath = join(opts.confDir, primary);
    const conflist = toConflist(readJson(primaryPath));
    const edit = addPlugin(conflist, { type: PLUGIN_TYPE, ...pluginConfig });
    // A single-plugin .conf becomes <name>.conflist (runtimes read both; only a conflist can chain).
    const outPath = primary.endsWith('.conflist')
      ? primaryPath
      : primaryPath.replace(/\.(conf|json)$/, '.conflist');
    if (edit.changed || outPath !== primaryPath) {
      writeAtomic(outPath, stringify(edit.conflist));
      if (outPath !== primaryPath) rmSync(primaryPath, { force: true });
      changed.push(outPath);
    }
    return { conflist: outPath, changed };
  } catch (err) {
    if (err instanceof CniError) throw err;
    throw new CniError(CniErrorCode.Install, `install failed: ${String(err)}`, { cause: err });
  }
}

export function uninstall(opts: Pick<InstallOptions, 'binDir' | 'confDir'>): string[] {
  const changed: string[] = [];
  try {
    for (const name of existsSync(opts.confDir) ? readdirSync(opts.confDir) : []) {
      if (!name.endsWith('.conflist')) continue;
      const path = join(opts.confDir, name);
      const json = readJson(path);
      if (!Array.isArray(json.plugins)) continue;
      const edit = removePlugin(json as Conflist);
      if (edit.changed) {
        writeAtomic(path, stringify(edit.conflist));
        changed.push(path);
      }
    }
    for (const path of [join(opts.binDir, PLUGIN_TYPE), join(opts.confDir, KUBECONFIG_NAME)]) {
      if (existsSync(path)) {
        rmSync(path);
        changed.push(path);
      }
    }
  } catch (err) {
    if (err instanceof CniError) throw err;
    throw new CniError(CniErrorCode.Install, `uninstall failed: ${String(err)}`, { cause: err });
  }
  return changed;
}

/**
 * Keeps the plugin installed: the primary CNI may rewrite its conflist (restart, upgrade) and drop our
 * entry, and pods would then start uncaptured. Re-runs the idempotent install whenever the config
 * directory changes (and every `recheckMs` in case a change event is missed) until `signal` aborts.
 * `options` is read on every run, so a rotated ServiceAccount token reaches the kubeconfig.
 */
export async function watchInstall(
  options: () => InstallOptions,
  signal: AbortSignal,
  onChange: (report: InstallReport) => void,
  recheckMs = 30_000,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  const again = () => {
    if (timer !== undefined) clearTimeout(timer);
    // Debounced: a runtime writing a conflist produces several events.
    timer = setTimeout(() => {
      running = running.then(async () => {
        if (signal.aborted) return;
        const report = await install({ ...options(), waitMs: 0 }).catch((err: unknown) => {
          onChange({ conflist: '', changed: [`error: ${String(err)}`] });
          return undefined;
        });
        if (report !== undefined && report.changed.length > 0) onChange(report);
      });
    }, 200);
  };
  const watcher = watch(options().confDir, () => again());
  const interval = setInterval(again, recheckMs);
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  watcher.close();
  clearInterval(interval);
  if (timer !== undefined) clearTimeout(timer);
  await running;
}
