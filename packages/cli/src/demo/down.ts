/**
 * `weftctl demo down`: stops every process the demo started (from the state file, then a sweep for
 * any process carrying the demo's marker), removes every weft-demo-* namespace, and the state
 * directory. Safe to run again, or after a crash, or with no demo at all.
 */
import { rm } from 'node:fs/promises';
import { sweepNetwork } from './network.js';
import { markedProcesses, stopProcesses } from './processes.js';
import { readState } from './state.js';

/** Returns how many processes and namespaces it removed. */
export async function stopDemo(stateDir: string, options: { quiet?: boolean } = {}): Promise<number> {
  let pids: number[] = [];
  try {
    const state = await readState(stateDir);
    pids = state?.processes.map((p) => p.pid) ?? [];
  } catch {
    // unreadable state: the sweep below still finds everything by marker and name
  }
  // Waypoint and apps first, pilot last (agents drain while pilot is still there).
  const stopped = await stopProcesses(pids.reverse(), stateDir);
  const strays = await stopProcesses(await markedProcesses(stateDir), stateDir);
  const namespaces = process.getuid?.() === 0 ? await sweepNetwork() : [];
  await rm(stateDir, { recursive: true, force: true });
  void options;
  return stopped.length + strays.length + namespaces.length;
}
