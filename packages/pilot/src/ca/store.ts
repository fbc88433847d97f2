import { access, chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WeftError } from '@weft/telemetry';
import type { CaState } from './rotation.js';

/**
 * Where the CA keeps its roots and keys. The directory store is the embedded default; a Kubernetes Secret
 * store implements the same two calls.
 */
export interface CaStore {
  load(): Promise<CaState | undefined>;
  save(state: CaState): Promise<void>;
  /** For logs and status, e.g. "directory /var/lib/weft/ca". */
  describe(): string;
}

const STATE_FILE = 'ca-state.json';
const BUNDLE_FILE = 'root-cert.pem';

/** Keeps the state in `<dir>/ca-state.json` (0600) and the trust bundle in `<dir>/root-cert.pem`. */
export class DirectoryCaStore implements CaStore {
  constructor(readonly dir: string) {}

  describe(): string {
    return `directory ${this.dir}`;
  }

  async load(): Promise<CaState | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.dir, STATE_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const state = JSON.parse(text) as CaState;
      if (!Array.isArray(state.roots) || state.roots.length === 0 || typeof state.issuing !== 'number')
        throw new Error('missing roots');
      return state;
    } catch (err) {
      throw new WeftError(
        'WEFT_CA_STORE_CORRUPT',
        `${join(this.dir, STATE_FILE)} is unreadable; restore it from a backup`,
        {
          cause: err,
        },
      );
    }
  }

  async save(state: CaState): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // Write-then-rename so a crash never leaves half a key behind.
    const tmp = join(this.dir, `.${STATE_FILE}.tmp`);
    await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, join(this.dir, STATE_FILE));
    const bundleTmp = join(this.dir, `.${BUNDLE_FILE}.tmp`);
    await writeFile(bundleTmp, state.roots.map((r) => r.certPem).join(''), { mode: 0o644 });
    await rename(bundleTmp, join(this.dir, BUNDLE_FILE));
  }
}

/** Istio's plug-in CA files (`cacerts` Secret): pilot signs with the intermediate. */
export interface PluginCa {
  /** ca-cert.pem: the signing (intermediate) certificate. */
  caCertPem: string;
  /** ca-key.pem. */
  caKeyPem: string;
  /** root-cert.pem: the trust bundle (may hold several roots). */
  rootCertPem: string;
  /** cert-chain.pem: the signing certificate's chain up to the root. */
  certChainPem: string;
}

const PLUGIN_FILES = ['ca-cert.pem', 'ca-key.pem', 'root-cert.pem', 'cert-chain.pem'] as const;

/** Whether `dir` holds any plug-in CA file (a partial set still counts: loading it reports what is missing). */
export async function holdsPluginCa(dir: string): Promise<boolean> {
  const found = await Promise.all(
    PLUGIN_FILES.map((f) =>
      access(join(dir, f)).then(
        () => true,
        () => false,
      ),
    ),
  );
  return found.includes(true);
}

export async function loadPluginCa(dir: string): Promise<PluginCa> {
  const read = async (f: string) => {
    try {
      return await readFile(join(dir, f), 'utf8');
    } catch (err) {
      throw new WeftError(
        'WEFT_CA_PLUGIN_FILES',
        `plug-in CA: cannot read ${join(dir, f)} (need ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem)`,
        {
          cause: err,
        },
      );
    }
  };
  const [caCertPem, caKeyPem, rootCertPem, certChainPem] = await Promise.all([
    read('ca-cert.pem'),
    read('ca-key.pem'),
    read('root-cert.pem'),
    read('cert-chain.pem'),
  ]);
  return { caCertPem, caKeyPem, rootCertPem, certChainPem };
}
