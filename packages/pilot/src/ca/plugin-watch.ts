/**
 * Follows Istio's plug-in `cacerts` directory: when its files change (a Kubernetes Secret volume swaps its
 * `..data` link; a user copies files in), the CA reloads them without a restart. Changes are debounced and
 * checked as a whole, so a half-copied set is reported and ignored until it is complete; the CA never stops
 * signing with the last good set.
 */
import { type FSWatcher, watch } from 'node:fs';
import { errorCode, errorMessage, type Logger, silentLogger } from '@weft/telemetry';
import type { CertificateAuthority } from './authority.js';
import { loadPluginCa, type PluginCa } from './store.js';

export interface PluginWatchOptions {
  logger?: Logger;
  /** Quiet time after the last change before reloading, default 250 ms. */
  debounceMs?: number;
}

export interface PluginWatch {
  /** Re-read the files now (what a change event does after the debounce); resolves when done. */
  check(): Promise<void>;
  close(): void;
}

function samePlugin(a: PluginCa | undefined, b: PluginCa): boolean {
  return (
    a !== undefined &&
    a.caCertPem === b.caCertPem &&
    a.caKeyPem === b.caKeyPem &&
    a.rootCertPem === b.rootCertPem &&
    a.certChainPem === b.certChainPem
  );
}

export function watchPluginCa(
  dir: string,
  authority: CertificateAuthority,
  options: PluginWatchOptions = {},
): PluginWatch {
  const logger = (options.logger ?? silentLogger()).child({ component: 'ca' });
  const debounceMs = options.debounceMs ?? 250;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  const reload = async (): Promise<void> => {
    let files: PluginCa;
    try {
      files = await loadPluginCa(dir);
      if (samePlugin(authority.pluginFiles(), files)) return;
      authority.reloadPlugin(files);
    } catch (err) {
      authority.notePluginError(err);
      logger.warn(
        { code: errorCode(err), err: errorMessage(err), dir },
        'plug-in CA files changed but cannot be used (yet): still signing with the previous set',
      );
    }
  };

  const check = (): Promise<void> => {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await reload();
      } while (again && !closed);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, () => {
      if (closed) return;
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        void check();
      }, debounceMs);
      timer.unref();
    });
    watcher.on('error', (err) =>
      logger.warn({ err: errorMessage(err), dir }, 'cannot watch the plug-in CA directory any more'),
    );
  } catch (err) {
    logger.warn(
      { err: errorMessage(err), dir },
      'cannot watch the plug-in CA directory: reload needs a restart',
    );
  }

  return {
    check,
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      watcher?.close();
    },
  };
}
