/**
 * `weftctl demo up`: builds the namespaces, starts pilot, one weft-node per node, the apps and the
 * waypoint as detached processes, registers the pods with their node agent, and records everything in
 * the state file. A component that is missing or does not start is reported by name (WEFT_DEMO_*), and
 * the rest keeps running; nothing is ever reported as running that is not.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { CommandIo } from '../command.js';
import { availableCommands } from './commands-available.js';
import { checkRoute, startApps, startIngress, startNode, startPilot, startWaypoint } from './components.js';
import { addWorkloadToken, exampleDirOf, loadLayout, prepareStateDir } from './config-files.js';
import { stopDemo } from './down.js';
import { DemoErrorCode } from './errors.js';
import { repoRoot } from './launch.js';
import { PILOT_PORTS } from './layout.js';
import { createNetwork } from './network.js';
import { missingTools, ROOT_EXPLANATION, reducedExplanation, rootProblem } from './prerequisites.js';
import { checkCapture } from './route-check.js';
import { Starter } from './starter.js';
import { type DemoState, readState, writeState } from './state.js';
import { renderSummary } from './summary.js';
import { renderTour } from './tour.js';

export interface UpOptions {
  stateDir: string;
  reduced: boolean;
  io: CommandIo;
  /** Defaults to <repo>/deploy/examples/demo. */
  exampleDir?: string;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export async function upDemo(options: UpOptions): Promise<number> {
  const { io, stateDir } = options;
  const root = repoRoot();
  const exampleDir = options.exampleDir ?? exampleDirOf(root);
  const problem = rootProblem();
  if (problem !== undefined && !options.reduced) {
    io.stderr(`${DemoErrorCode.NeedsRoot}: ${problem}.\n\n${ROOT_EXPLANATION}\n`);
    return 2;
  }
  const mode = options.reduced ? 'reduced' : 'full';
  if (mode === 'full') {
    const missing = missingTools();
    if (missing.length > 0) {
      io.stderr(
        `${DemoErrorCode.MissingTool}: the demo needs ${missing.join(', ')}; run ./scripts/setup.sh as root\n`,
      );
      return 2;
    }
  }
  // Idempotent: whatever a previous run left (half up, crashed) goes first.
  const previous = await readState(stateDir).catch(() => undefined);
  const removed = await stopDemo(stateDir, { sweepNetwork: mode === 'full' || previous?.mode === 'full' });
  if (previous !== undefined || removed > 0)
    io.stdout(`removed a previous demo (${removed} processes/namespaces)\n`);

  // Checked before anything is made: the embedded config must describe a demo we can build.
  const planned = await loadLayout(join(exampleDir, 'config'));
  const busy: number[] = [];
  const ports = [
    ...Object.values(PILOT_PORTS),
    ...(mode === 'full'
      ? planned.nodes.flatMap((n) => [n.ports.admin, n.ports.metrics, n.ports.readiness])
      : []),
  ];
  for (const p of ports) if (!(await portFree(p))) busy.push(p);
  if (busy.length > 0) {
    io.stderr(
      `${DemoErrorCode.PortInUse}: 127.0.0.1 port(s) ${busy.join(', ')} are in use by another program; stop it and retry\n`,
    );
    return 2;
  }

  const configDir = await prepareStateDir(stateDir, exampleDir);
  // The layout of what runs: the config copy (with the ingress gateway's objects).
  const layout = await loadLayout(configDir);
  const ingressPod = layout.pods.find((p) => p.role === 'ingress');
  const ingressToken =
    ingressPod === undefined
      ? undefined
      : await addWorkloadToken(
          stateDir,
          `spiffe://cluster.local/ns/${ingressPod.namespace}/sa/${ingressPod.serviceAccount}`,
        );
  const state: DemoState = {
    version: 1,
    mode,
    startedAt: new Date().toISOString(),
    repoRoot: root,
    stateDir,
    configDir,
    namespaces: [],
    processes: [],
    components: [],
    phase: 'starting',
  };
  await writeState(state);
  const s = new Starter(state, io);
  io.stdout(`starting the Weft demo mesh (${mode}); state and logs in ${stateDir}\n`);

  if (mode === 'full') {
    try {
      state.namespaces = await createNetwork(layout);
      await s.component({
        name: 'network',
        ok: true,
        detail: `${state.namespaces.length} network namespaces (${layout.nodes.length} nodes, ${layout.pods.length} pods)`,
      });
    } catch (err) {
      await s.component({
        name: 'network',
        ok: false,
        detail: `${DemoErrorCode.Network}: ${(err as Error).message}`,
      });
      io.stderr(
        'cannot build the demo network; nothing else was started. Run `weftctl demo down` to clean up.\n',
      );
      return 1;
    }
    await startApps(s, layout);
  }
  const pilotOk = await startPilot(s, root);
  if (mode === 'full' && pilotOk) {
    for (const node of layout.nodes) await startNode(s, layout, node, root);
    if (layout.nodes.every((n) => state.components.find((c) => c.name === n.name)?.ok === true)) {
      const capture = await checkCapture(stateDir, layout);
      if (capture !== undefined)
        await s.component({
          name: 'capture',
          ok: capture.ok,
          detail: capture.ok ? capture.detail : `${DemoErrorCode.ComponentMissing}: ${capture.detail}`,
        });
    }
    await startWaypoint(s, layout, root);
    if (state.components.find((c) => c.name === 'waypoint')?.ok === true) await checkRoute(s, layout);
    if (ingressToken !== undefined) await startIngress(s, layout, root, ingressToken);
  }
  state.phase = 'up';
  await writeState(state);
  io.stdout(`\n${renderSummary(state, layout)}\n`);
  const missing = new Set(state.components.filter((c) => !c.ok).map((c) => c.name));
  for (const c of await availableCommands()) if (!c.ok) missing.add(c.name);
  if (mode === 'full') io.stdout(renderTour(stateDir, missing));
  else io.stdout(`\n${reducedExplanation(stateDir)}`);
  const failed = state.components.filter((c) => !c.ok);
  if (failed.length > 0) {
    io.stderr(
      `\n${failed.length} part(s) of the demo are not running: ${failed.map((c) => c.name).join(', ')} (see above); the rest is up. \`weftctl demo down\` removes everything.\n`,
    );
    return 1;
  }
  return 0;
}
