/**
 * Embedded-mode source: every *.yaml / *.yml / *.json under a directory (recursive), watched. Each directory
 * gets its own (non-recursive) fs.watch, kept in step with the tree on every scan: Node 20's recursive
 * watch on Linux misses repeated renames over the same file. Any event schedules a rescan after a short
 * quiet period; the rescan re-reads only files whose size or mtime changed, so an editor's
 * write-temp-then-rename (several events, the file briefly missing) settles into one consistent reload.
 * A slow periodic rescan catches anything the kernel did not report.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { type ConfigProblem, type KubeObject, MAX_FILE_BYTES, parseYaml } from '@weft/config';
import { errorMessage, type Logger, silentLogger } from '@weft/telemetry';
import type { ChangeListener, ConfigSource } from './source.js';

export interface DirectorySourceOptions {
  dir: string;
  logger?: Logger;
  /** Quiet period before a rescan (default 20 ms; pilot debounces pushes on top). */
  settleMs?: number;
  /** Safety rescan interval (default 10 s; 0 disables). */
  pollMs?: number;
  maxFileBytes?: number;
}

interface FileEntry {
  size: number;
  mtimeMs: number;
  objects: KubeObject[];
  problems: ConfigProblem[];
}

const CONFIG_FILE = /\.(ya?ml|json)$/i;
/** Files read at once during a rescan. */
const READ_CONCURRENCY = 8;

export class DirectorySource implements ConfigSource {
  readonly name: string;
  readonly #options: DirectorySourceOptions;
  readonly #logger: Logger;
  readonly #files = new Map<string, FileEntry>();
  readonly #watchers = new Map<string, FSWatcher>();
  #poll: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #again = false;
  #onChange: ChangeListener = () => {};
  /** performance.now() of the latest watch event not yet covered by a finished scan. */
  #eventAt: number | undefined;
  #closed = false;
  #dirProblem: ConfigProblem | undefined;

  constructor(options: DirectorySourceOptions) {
    this.#options = options;
    this.name = `directory:${options.dir}`;
    this.#logger = options.logger ?? silentLogger();
  }

  async start(onChange: ChangeListener): Promise<void> {
    this.#onChange = onChange;
    await this.#scan();
    const pollMs = this.#options.pollMs ?? 10_000;
    if (pollMs > 0) {
      this.#poll = setInterval(() => this.#schedule(), pollMs);
      this.#poll.unref();
    }
  }

  /** Watches exactly the directories of the tree. */
  #syncWatchers(dirs: ReadonlySet<string>): void {
    for (const [dir, w] of this.#watchers) {
      if (dirs.has(dir)) continue;
      w.close();
      this.#watchers.delete(dir);
    }
    for (const dir of dirs) {
      if (this.#watchers.has(dir) || this.#closed) continue;
      try {
        const w = watch(dir, () => this.#schedule(performance.now()));
        w.on('error', (err) => {
          this.#logger.warn({ err: errorMessage(err), dir }, 'config directory watch failed');
          w.close();
          this.#watchers.delete(dir);
          this.#schedule();
        });
        this.#watchers.set(dir, w);
      } catch (err) {
        this.#logger.warn({ err: errorMessage(err), dir }, 'cannot watch a config directory');
      }
    }
  }

  snapshot(): { objects: readonly KubeObject[]; problems: readonly ConfigProblem[] } {
    const objects: KubeObject[] = [];
    const problems: ConfigProblem[] = this.#dirProblem === undefined ? [] : [this.#dirProblem];
    for (const path of [...this.#files.keys()].sort()) {
      const f = this.#files.get(path);
      if (f === undefined) continue;
      for (const o of f.objects) objects.push(o);
      for (const p of f.problems) problems.push(p);
    }
    return { objects, problems };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
    await this.#scanning;
  }

  /** Rescans now (tests, or a caller that knows files changed). */
  async rescan(): Promise<void> {
    await this.#scan();
  }

  #schedule(eventAt?: number): void {
    if (this.#closed) return;
    if (eventAt !== undefined) this.#eventAt = eventAt;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#scan(), this.#options.settleMs ?? 20);
  }

  async #scan(): Promise<void> {
    if (this.#scanning !== undefined) {
      this.#again = true;
      return this.#scanning;
    }
    this.#scanning = (async () => {
      do {
        this.#again = false;
        // Events arriving during this scan stay pending: they schedule another scan, which reports them.
        const eventAt = this.#eventAt;
        this.#eventAt = undefined;
        const changed = await this.#scanOnce();
        if (changed && !this.#closed) this.#onChange(eventAt);
      } while (this.#again && !this.#closed);
    })().finally(() => {
      this.#scanning = undefined;
    });
    return this.#scanning;
  }

  async #scanOnce(): Promise<boolean> {
    const dir = this.#options.dir;
    let paths: string[];
    const dirs = new Set<string>([dir]);
    try {
      paths = (await listFiles(dir, dirs)).sort();
      this.#syncWatchers(dirs);
      this.#dirProblem = undefined;
    } catch (err) {
      // Keep serving the last good files; say why the directory could not be read.
      this.#dirProblem = {
        code: 'WEFT_PILOT_CONFIG_DIR',
        severity: 'error',
        message: `cannot read config directory ${dir}: ${errorMessage(err)}`,
      };
      return false;
    }
    let changed = false;
    const seen = new Set<string>(paths);
    // stat everything at once, then read changed files a few at a time, parsing each as it arrives (the
    // reads of the next files overlap the parse of this one).
    const infos = await Promise.all(
      paths.map((path) =>
        stat(path).then(
          (i) => ({ size: i.size, mtimeMs: i.mtimeMs }),
          // Vanished between readdir and stat (atomic rename in progress): the next event rescans.
          () => undefined,
        ),
      ),
    );
    const max = this.#options.maxFileBytes ?? MAX_FILE_BYTES;
    const todo: { path: string; info: { size: number; mtimeMs: number } }[] = [];
    for (let i = 0; i < paths.length; i++) {
      const path = paths[i];
      const info = infos[i];
      if (path === undefined || info === undefined) continue;
      const prev = this.#files.get(path);
      if (prev !== undefined && prev.size === info.size && prev.mtimeMs === info.mtimeMs) continue;
      todo.push({ path, info });
    }
    const load = async ({ path, info }: (typeof todo)[number]): Promise<void> => {
      const rel = relative(dir, path);
      let entry: FileEntry;
      if (info.size > max) {
        entry = {
          ...info,
          objects: [],
          problems: [
            {
              code: 'WEFT_CONFIG_TOO_LARGE',
              severity: 'error',
              message: `file is ${info.size} bytes, over the ${max}-byte limit; skipped`,
              location: { file: rel, line: 1 },
            },
          ],
        };
      } else {
        let text: string;
        try {
          text = await readFile(path, 'utf8');
        } catch {
          return;
        }
        entry = { ...info, ...parseYaml(text, rel) };
      }
      this.#files.set(path, entry);
      changed = true;
    };
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const t = todo[next++];
        if (t !== undefined) await load(t);
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, todo.length) }, worker));
    for (const path of [...this.#files.keys()]) {
      if (!seen.has(path)) {
        this.#files.delete(path);
        changed = true;
      }
    }
    if (changed) this.#logger.debug({ files: this.#files.size }, 'config directory reloaded');
    return changed;
  }
}

async function listFiles(dir: string, dirs: Set<string>): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith('.')) continue; // editor swap files, .git
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      dirs.add(path);
      out.push(...(await listFiles(path, dirs)));
    } else if (e.isFile() && CONFIG_FILE.test(e.name)) out.push(path);
  }
  return out;
}
