/** `weftctl demo exec <pod> -- <command…>`: runs a command inside a pod's network namespace. */
import { spawn } from 'node:child_process';
import type { CommandIo } from '../command.js';
import { loadLayout } from './config-files.js';
import { DemoError, DemoErrorCode } from './errors.js';
import { findPod } from './layout.js';
import { readState } from './state.js';

export async function execInPod(
  stateDir: string,
  podRef: string,
  argv: readonly string[],
  io: CommandIo,
): Promise<number> {
  const state = await readState(stateDir);
  if (state === undefined || state.mode !== 'full')
    throw new DemoError(
      DemoErrorCode.NotRunning,
      `no full demo running (state ${stateDir}); start it with \`weftctl demo up\``,
    );
  const layout = await loadLayout(state.configDir);
  const pod = findPod(layout, podRef);
  if (pod === undefined)
    throw new DemoError(
      DemoErrorCode.Unknown,
      `no pod ${podRef}; pods: ${layout.pods.map((p) => p.name.replace(/-0$/, '')).join(', ')}`,
    );
  if (argv.length === 0)
    throw new DemoError(DemoErrorCode.Unknown, 'nothing to run: weftctl demo exec <pod> -- <command…>');
  const child = spawn('ip', ['netns', 'exec', pod.netns, ...argv], { stdio: ['inherit', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8').on('data', (d: string) => io.stdout(d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => io.stderr(d));
  return new Promise((resolve) => {
    child.once('error', (err) => {
      io.stderr(`${String(err)}\n`);
      resolve(2);
    });
    child.once('close', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}
