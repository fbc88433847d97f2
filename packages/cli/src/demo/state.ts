/** The demo's state file (<state dir>/state.json): what `demo up` made, so `demo down` can undo it. */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DemoError, DemoErrorCode } from './errors.js';

/** Default state directory for root (tmpfs); `--state-dir` or WEFTCTL_DEMO_DIR override it. */
export const DEFAULT_STATE_DIR = '/run/weft-demo';

export type DemoMode = 'full' | 'reduced';

export interface ProcessRecord {
  name: string;
  pid: number;
  netns?: string;
  log: string;
}

/** A part of the demo and whether it runs, or why not (shown by `demo status` and `demo up`). */
export interface ComponentRecord {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DemoState {
  version: 1;
  mode: DemoMode;
  startedAt: string;
  repoRoot: string;
  stateDir: string;
  configDir: string;
  namespaces: string[];
  processes: ProcessRecord[];
  components: ComponentRecord[];
  /** 'up' once everything that could start did. */
  phase: 'starting' | 'up';
}

export const stateFile = (stateDir: string): string => join(stateDir, 'state.json');

export async function readState(stateDir: string): Promise<DemoState | undefined> {
  let text: string;
  try {
    text = await readFile(stateFile(stateDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DemoError(DemoErrorCode.State, `cannot read ${stateFile(stateDir)}: ${String(err)}`, {
      cause: err,
    });
  }
  try {
    const state = JSON.parse(text) as DemoState;
    if (state.version !== 1 || !Array.isArray(state.processes)) throw new Error('unknown format');
    return state;
  } catch (err) {
    throw new DemoError(
      DemoErrorCode.State,
      `${stateFile(stateDir)} is not a demo state file (${String(err)}); run \`weftctl demo down\`, which also sweeps by name`,
      { cause: err },
    );
  }
}

/** Writes atomically (rename), so a crash never leaves half a file. */
export async function writeState(state: DemoState): Promise<void> {
  const file = stateFile(state.stateDir);
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

export function stateDirFrom(
  flags: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const given = flags['state-dir'] ?? env.WEFTCTL_DEMO_DIR;
  if (given !== undefined) return resolve(given);
  // Without root /run is not writable: the reduced demo keeps its state in the user's runtime dir.
  if (process.getuid?.() === 0) return DEFAULT_STATE_DIR;
  const runtime = env.XDG_RUNTIME_DIR;
  return join(runtime === undefined || runtime === '' ? tmpdir() : runtime, 'weft-demo');
}
