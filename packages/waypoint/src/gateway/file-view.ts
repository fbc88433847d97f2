/**
 * A MeshView read from a directory of Kubernetes/Istio YAML (GATEWAY_CONFIG_DIR), for gateways run
 * without pilot: the same parse → index → translate pipeline pilot runs, re-run when a file changes.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compileConfig, formatConfigProblem, parseFiles } from '@weft/config';
import type { Logger } from '@weft/telemetry';
import { errorMessage } from '@weft/telemetry/errors';
import { StaticMeshView } from '../mesh-view.js';
import { GatewayErrorCode } from './errors.js';

export class DirectoryMeshView extends StaticMeshView {
  readonly #dir: string;
  readonly #log: Logger;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(dir: string, logger: Logger) {
    super();
    this.#dir = dir;
    this.#log = logger;
  }

  /** Reads the directory now (throws if it cannot be listed) and watches it. */
  async start(): Promise<void> {
    await this.load();
    this.#watcher = watch(this.#dir, () => {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        this.load().catch((err: unknown) =>
          this.#log.warn({ code: GatewayErrorCode.BadRoute, err: errorMessage(err) }, 'config reload failed'),
        );
      }, 50);
    });
    this.#watcher.on('error', () => {});
  }

  async load(): Promise<void> {
    const names = (await readdir(this.#dir)).filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.')).sort();
    const files = await Promise.all(
      names.map(async (n) => ({
        path: join(this.#dir, n),
        text: await readFile(join(this.#dir, n), 'utf8'),
      })),
    );
    const parsed = parseFiles(files);
    const compiled = compileConfig(parsed.objects, {}, parsed.problems);
    for (const p of compiled.problems)
      if (p.severity === 'error') this.#log.warn({ code: GatewayErrorCode.BadRoute }, formatConfigProblem(p));
    const { state } = compiled.translation;
    this.update({
      workloads: [...state.workloads.values()],
      services: [...state.services.values()],
      configs: [...state.configs.values()],
    });
  }

  close(): void {
    this.#watcher?.close();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }
}
