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
export async function stopDemo(stateDir: string, options: { sweepNetwork?: boolean } = {}): Promise<number> {
  let pids: number[] = [];
  // Without a readable state (crash) the namespaces are swept by name; a reduced demo made none.
  let full = true;
  try {
    const state = await readState(stateDir);
    pids = state?.processes.map((p) => p.pid) ?? [];
    if (state?.mode === 'reduced') full = false;
  } catch {
    // unreadable state: the sweep below still finds everything by marker and name
  }
  // Waypoint and apps first, pilot last (agents drain while pilot is still there).
  const stopped = await stopProcesses(pids.reverse(), stateDir);
  const strays = await stopProcesses(await markedProcesses(stateDir), stateDir);
  const sweep = (options.sweepNetwork ?? full) && process.getuid?.() === 0;
  const namespaces = sweep ? await sweepNetwork() : [];
  await rm(stateDir, { recursive: true, force: true });
  return stopped.length + strays.length + namespaces.length;
}
