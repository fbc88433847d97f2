/**
 * Detached processes: started with their own session (they outlive weftctl), stdout/stderr into a log
 * file, and an environment marker (WEFTCTL_DEMO_OWNER=<state dir>) so `demo down` can find them again even
 * when the state file is lost, and never kills a process that is not the demo's (pids get reused).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

export const MARKER_ENV = 'WEFTCTL_DEMO_OWNER';

export interface SpawnSpec {
  name: string;
  argv: string[];
  /** Run inside this network namespace (ip netns exec, which execs: the pid is the program's). */
  netns?: string;
  env: Record<string, string>;
  cwd: string;
  logFile: string;
}

/** Starts a detached process; returns its pid. The caller records it in the state file. */
export function spawnDetached(spec: SpawnSpec, stateDir: string): number {
  const argv = spec.netns === undefined ? spec.argv : ['ip', 'netns', 'exec', spec.netns, ...spec.argv];
  const fd = openSync(spec.logFile, 'a');
  try {
    const child = spawn(argv[0] as string, argv.slice(1), {
      detached: true,
      stdio: ['ignore', fd, fd],
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env, [MARKER_ENV]: stateDir },
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${argv[0]}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `pid` runs with our marker (so it is one of this demo's processes). */
export async function hasMarker(pid: number, stateDir: string): Promise<boolean> {
  try {
    const environ = await readFile(`/proc/${pid}/environ`, 'latin1');
    return environ.split('\0').includes(`${MARKER_ENV}=${stateDir}`);
  } catch {
    return false;
  }
}

/** Every live process carrying the marker of `stateDir`. */
export async function markedProcesses(stateDir: string): Promise<number[]> {
  const pids: number[] = [];
  let entries: string[] = [];
  try {
    entries = await readdir('/proc');
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid !== process.pid && (await hasMarker(pid, stateDir))) pids.push(pid);
  }
  return pids;
}

async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = pids.filter(isAlive);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = left.filter(isAlive);
  }
  return left;
}

/**
 * SIGTERM to each (its whole process group: the demo's processes lead their own), SIGKILL after
 * `graceMs` for those still alive. Only pids that carry the marker are signalled.
 */
export async function stopProcesses(
  pids: readonly number[],
  stateDir: string,
  graceMs = 4000,
): Promise<number[]> {
  const ours: number[] = [];
  for (const pid of pids) if (await hasMarker(pid, stateDir)) ours.push(pid);
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // gone
      }
    }
  };
  for (const pid of ours) signal(pid, 'SIGTERM');
  const left = await waitGone(ours, graceMs);
  for (const pid of left) signal(pid, 'SIGKILL');
  await waitGone(left, 2000);
  return ours;
}
