/** `weftctl demo status`: the state file checked against reality (processes alive, namespaces there). */
import type { CommandIo } from '../command.js';
import { loadLayout } from './config-files.js';
import { DemoErrorCode } from './errors.js';
import { demoNamespaces } from './network.js';
import { isAlive } from './processes.js';
import { readState } from './state.js';
import { renderSummary, table } from './summary.js';

export interface StatusReport {
  running: boolean;
  mode?: string;
  stateDir: string;
  processes: Array<{ name: string; pid: number; alive: boolean; log: string }>;
  namespaces: string[];
  components: Array<{ name: string; ok: boolean; detail: string }>;
}

export async function statusReport(stateDir: string): Promise<StatusReport> {
  const state = await readState(stateDir);
  const namespaces = await demoNamespaces();
  if (state === undefined) return { running: false, stateDir, processes: [], namespaces, components: [] };
  const processes = state.processes.map((p) => ({
    name: p.name,
    pid: p.pid,
    alive: isAlive(p.pid),
    log: p.log,
  }));
  const components = state.components.map((c) => {
    const procs = processes.filter((p) => p.name === c.name);
    return procs.some((p) => !p.alive)
      ? { ...c, ok: false, detail: `exited since start; see ${procs[0]?.log}` }
      : c;
  });
  return {
    running: processes.some((p) => p.alive),
    mode: state.mode,
    stateDir,
    processes,
    namespaces,
    components,
  };
}

export async function printStatus(stateDir: string, io: CommandIo, json: boolean): Promise<number> {
  const report = await statusReport(stateDir);
  if (json) {
    io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    return report.running ? 0 : 1;
  }
  const state = await readState(stateDir);
  if (state === undefined) {
    io.stdout(
      `${DemoErrorCode.NotRunning}: no demo (no state in ${stateDir})${report.namespaces.length > 0 ? `; leftover namespaces: ${report.namespaces.join(', ')} (weftctl demo down removes them)` : ''}\n`,
    );
    return 1;
  }
  const layout = await loadLayout(state.configDir).catch(() => undefined);
  const shown = { ...state, components: report.components };
  if (layout !== undefined) io.stdout(renderSummary(shown, layout));
  io.stdout('\n');
  io.stdout(
    `${table([
      ['PROCESS', 'PID', 'STATE', 'LOG'],
      ...report.processes.map((p) => [p.name, String(p.pid), p.alive ? 'running' : 'EXITED', p.log]),
    ])}\n`,
  );
  return report.components.every((c) => c.ok) && report.processes.every((p) => p.alive) ? 0 : 1;
}
