/**
 * `weftctl demo up`: builds the namespaces, starts pilot, one weft-node per node, the apps and the
 * waypoint as detached processes, registers the pods with their node agent, and records everything in
 * the state file. A component that is missing or does not start is reported by name (WEFT_DEMO_*), and
 * the rest keeps running; nothing is ever reported as running that is not.
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { CommandIo } from '../command.js';
import { addPods } from './agent-client.js';
import { stopDemo } from './down.js';
import { DemoError, DemoErrorCode } from './errors.js';
import { appArgv, appPresent, httpbinArgv, relayArgv, repoRoot } from './launch.js';
import {
  type DemoLayout,
  type DemoNode,
  type DemoPod,
  layoutFromObjects,
  PILOT_PORTS,
  parseConfigTexts,
} from './layout.js';
import { netnsHttpStatus } from './netns-probe.js';
import { createNetwork } from './network.js';
import { missingTools, ROOT_EXPLANATION, reducedExplanation, rootProblem } from './prerequisites.js';
import { httpStatus, logMatches, tail, waitUntil } from './probe.js';
import { spawnDetached } from './processes.js';
import { checkCapture, checkWaypointRoute } from './route-check.js';
import { type ComponentRecord, type DemoState, readState, writeState } from './state.js';
import { renderSummary } from './summary.js';
import { createDemoKeyPem } from './tokens.js';
import { renderTour } from './tour.js';
import { addressWaypointByHostname } from './waypoint-address.js';

/** Files of the embedded config that the tour applies step by step instead of at start. */
export const TOUR_APPLIED = new Set(['06-security.yaml']);

export interface UpOptions {
  stateDir: string;
  reduced: boolean;
  io: CommandIo;
  /** Defaults to <repo>/deploy/examples/demo. */
  exampleDir?: string;
}

export const exampleDirOf = (root: string): string => join(root, 'deploy/examples/demo');

export async function loadLayout(configDir: string): Promise<DemoLayout> {
  const names = (await readdir(configDir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  const files = await Promise.all(
    names.map(async (n) => ({ path: join(configDir, n), text: await readFile(join(configDir, n), 'utf8') })),
  );
  return layoutFromObjects(parseConfigTexts(files));
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

interface BootstrapTokens {
  tokens?: Record<string, { kind?: string; node?: string; identity?: string }>;
}

async function tokenFor(
  tokensFile: string,
  match: (grant: { kind?: string; node?: string; identity?: string }) => boolean,
): Promise<string | undefined> {
  const doc = parseYaml(await readFile(tokensFile, 'utf8')) as BootstrapTokens;
  for (const [token, grant] of Object.entries(doc.tokens ?? {})) if (match(grant)) return token;
  return undefined;
}

class Starter {
  readonly state: DemoState;
  readonly io: CommandIo;

  constructor(state: DemoState, io: CommandIo) {
    this.state = state;
    this.io = io;
  }

  logFile(name: string): string {
    return join(this.state.stateDir, 'logs', `${name}.log`);
  }

  async spawn(name: string, argv: string[], env: Record<string, string>, netns?: string): Promise<number> {
    const log = this.logFile(name);
    const pid = spawnDetached(
      { name, argv, env, cwd: this.state.stateDir, logFile: log, ...(netns === undefined ? {} : { netns }) },
      this.state.stateDir,
    );
    this.state.processes.push({ name, pid, log, ...(netns === undefined ? {} : { netns }) });
    await writeState(this.state);
    return pid;
  }

  async component(record: ComponentRecord): Promise<void> {
    const i = this.state.components.findIndex((c) => c.name === record.name);
    if (i === -1) this.state.components.push(record);
    else this.state.components[i] = record;
    await writeState(this.state);
    this.io.stdout(`  ${record.ok ? 'ok  ' : 'FAIL'} ${record.name.padEnd(14)} ${record.detail}\n`);
  }

  /** A failed start: names what is missing and where its log is. */
  failure(what: string, why: 'exited' | 'timeout', name: string): string {
    const verb = why === 'exited' ? 'exited before it was ready' : 'did not become ready in time';
    return `${DemoErrorCode.ComponentMissing}: ${what} ${verb}; log ${this.logFile(name)}:\n${tail(this.logFile(name), 8).replace(/^/gm, '      ')}`;
  }
}

async function startPilot(s: Starter, root: string): Promise<boolean> {
  if (!appPresent('pilot', root)) {
    await s.component({
      name: 'pilot',
      ok: false,
      detail: `${DemoErrorCode.ComponentMissing}: packages/pilot is not in this tree`,
    });
    return false;
  }
  const dir = s.state.stateDir;
  const pid = await s.spawn(
    'pilot',
    appArgv(
      'pilot',
      [
        '--source',
        'directory',
        '--config-dir',
        s.state.configDir,
        '--bootstrap-tokens',
        join(dir, 'bootstrap-tokens.yaml'),
        '--ca-dir',
        join(dir, 'ca'),
        '--host',
        '127.0.0.1',
        '--xds-port',
        String(PILOT_PORTS.xds),
        '--secure-port',
        String(PILOT_PORTS.ca),
        '--admin-port',
        String(PILOT_PORTS.admin),
        '--metrics-port',
        String(PILOT_PORTS.metrics),
        '--readiness-port',
        String(PILOT_PORTS.readiness),
      ],
      root,
    ),
    { LOG_LEVEL: 'info' },
  );
  const ready = await waitUntil(
    async () => (await httpStatus(`http://127.0.0.1:${PILOT_PORTS.readiness}/healthz/ready`)) === 200,
    pid,
    45_000,
  );
  if (!ready.ok) {
    await s.component({ name: 'pilot', ok: false, detail: s.failure('weft-pilot', ready.why, 'pilot') });
    return false;
  }
  await s.component({
    name: 'pilot',
    ok: true,
    detail: `weft-pilot pid ${pid}: xDS 127.0.0.1:${PILOT_PORTS.xds}, CA ${PILOT_PORTS.ca}, admin ${PILOT_PORTS.admin}, metrics ${PILOT_PORTS.metrics}`,
  });
  return true;
}

async function startApps(s: Starter, layout: DemoLayout): Promise<boolean> {
  const apps = layout.pods.filter((p) => p.role === 'app');
  const pids = new Map<DemoPod, number>();
  for (const pod of apps)
    pids.set(pod, await s.spawn(`app-${pod.name}`, httpbinArgv(pod.appPort), {}, pod.netns));
  const failed: string[] = [];
  for (const pod of apps) {
    const r = await waitUntil(
      logMatches(s.logFile(`app-${pod.name}`), /Running on/),
      pids.get(pod) as number,
      20_000,
    );
    if (!r.ok) failed.push(`${pod.name} (${r.why}; ${s.logFile(`app-${pod.name}`)})`);
  }
  await s.component({
    name: 'apps',
    ok: failed.length === 0,
    detail:
      failed.length === 0
        ? `httpbin in ${apps.map((p) => p.name).join(', ')}`
        : `${DemoErrorCode.ComponentMissing}: httpbin did not start in ${failed.join(', ')}`,
  });
  return failed.length === 0;
}

async function startNode(s: Starter, layout: DemoLayout, node: DemoNode, root: string): Promise<void> {
  const dir = s.state.stateDir;
  if (!appPresent('node-agent', root)) {
    await s.component({
      name: node.name,
      ok: false,
      detail: `${DemoErrorCode.ComponentMissing}: packages/node-agent is not in this tree`,
    });
    return;
  }
  const token = await tokenFor(
    join(dir, 'bootstrap-tokens.yaml'),
    (g) => g.kind === 'node' && g.node === node.name,
  );
  const tokenFile = join(dir, 'tokens', `${node.name}.token`);
  await writeFile(tokenFile, `${token ?? ''}\n`, { mode: 0o600 });
  const socket = join(dir, `${node.name}.sock`);
  // Flags, not env: a renamed flag fails loudly where a renamed variable would be ignored.
  const pid = await s.spawn(
    node.name,
    appArgv(
      'node-agent',
      [
        '--xds-address',
        `127.0.0.1:${PILOT_PORTS.xds}`,
        '--ca-address',
        `127.0.0.1:${PILOT_PORTS.ca}`,
        '--ca-root-cert',
        join(dir, 'ca', 'root-cert.pem'),
        '--node-name',
        node.name,
        '--token-file',
        tokenFile,
        '--socket',
        socket,
        '--admin-port',
        String(node.ports.admin),
        '--metrics-port',
        String(node.ports.metrics),
        '--readiness-port',
        String(node.ports.readiness),
        '--workers',
        '1',
        '--log-level',
        'info',
        '--uninstall-on-exit',
      ],
      root,
    ),
    {},
  );
  const listening = await waitUntil(
    async () =>
      existsSync(socket) &&
      (await httpStatus(`http://127.0.0.1:${node.ports.readiness}/healthz/ready`)) !== undefined,
    pid,
    30_000,
  );
  if (!listening.ok) {
    await s.component({
      name: node.name,
      ok: false,
      detail: s.failure(`weft-node on ${node.name}`, listening.why, node.name),
    });
    return;
  }
  const pods = layout.pods.filter((p) => p.node === node.name && p.role === 'app');
  try {
    await addPods(socket, pods, 'snapshot');
  } catch (err) {
    await s.component({
      name: node.name,
      ok: false,
      detail: `${DemoErrorCode.PodRejected}: ${String((err as Error).message)}`,
    });
    return;
  }
  const ready = await waitUntil(
    async () => (await httpStatus(`http://127.0.0.1:${node.ports.readiness}/healthz/ready`)) === 200,
    pid,
    30_000,
  );
  if (!ready.ok) {
    await s.component({
      name: node.name,
      ok: false,
      detail: s.failure(`weft-node on ${node.name}`, ready.why, node.name),
    });
    return;
  }
  await s.component({
    name: node.name,
    ok: true,
    detail: `weft-node pid ${pid}: pods ${pods.map((p) => p.name).join(', ')}; metrics 127.0.0.1:${node.ports.metrics}, admin ${node.ports.admin}`,
  });
}

async function startWaypoint(s: Starter, layout: DemoLayout, root: string): Promise<void> {
  const pod = layout.pods.find((p) => p.role === 'waypoint');
  if (pod === undefined) return;
  const dir = s.state.stateDir;
  // The waypoint lives in its pod's namespace; pilot is on the host's 127.0.0.1: bridge the two ports.
  const pairs = [PILOT_PORTS.xds, PILOT_PORTS.ca].map((p) => `${p}=${join(dir, 'relay', `${p}.sock`)}`);
  const outer = await s.spawn('relay-host', relayArgv(['outer', ...pairs]), {});
  const inner = await s.spawn('relay-waypoint', relayArgv(['inner', ...pairs]), {}, pod.netns);
  for (const [pid, name] of [
    [outer, 'relay-host'],
    [inner, 'relay-waypoint'],
  ] as const) {
    const r = await waitUntil(logMatches(s.logFile(name), /relay \w+ ready/), pid, 20_000);
    if (!r.ok) {
      await s.component({
        name: 'waypoint',
        ok: false,
        detail: s.failure(`the ${name} relay to pilot`, r.why, name),
      });
      return;
    }
  }
  const token = await tokenFor(
    join(dir, 'bootstrap-tokens.yaml'),
    (g) =>
      g.kind === 'workload' && (g.identity ?? '').endsWith(`/ns/${pod.namespace}/sa/${pod.serviceAccount}`),
  );
  const tokenFile = join(dir, 'tokens', 'waypoint.token');
  await writeFile(tokenFile, `${token ?? ''}\n`, { mode: 0o600 });
  const pid = await s.spawn(
    'waypoint',
    appArgv(
      'waypoint',
      [
        '--xds-address',
        `127.0.0.1:${PILOT_PORTS.xds}`,
        '--ca-address',
        `127.0.0.1:${PILOT_PORTS.ca}`,
        '--ca-root-cert',
        join(dir, 'ca', 'root-cert.pem'),
        '--token-file',
        tokenFile,
        '--name',
        pod.labels['gateway.networking.k8s.io/gateway-name'] ?? 'waypoint',
        '--namespace',
        pod.namespace,
        '--service-account',
        pod.serviceAccount,
        '--pod-name',
        pod.name,
        '--pod-ip',
        pod.ip,
        '--node-name',
        pod.node,
      ],
      root,
    ),
    {},
    pod.netns,
  );
  const ready = await waitUntil(
    async () => (await netnsHttpStatus(pod.netns, 'http://127.0.0.1:15021/healthz/ready')) === 200,
    pid,
    30_000,
  );
  if (!ready.ok) {
    await s.component({
      name: 'waypoint',
      ok: false,
      detail: s.failure(`weft-waypoint for ${pod.namespace}`, ready.why, 'waypoint'),
    });
    return;
  }
  await s.component({
    name: 'waypoint',
    ok: true,
    detail: `weft-waypoint pid ${pid} in ${pod.netns} (${pod.ip}:15008)`,
  });
}

/**
 * Checks that waypoint Services go through the waypoint. If the agents bypass it when it is addressed
 * by its Service VIP, retries with the waypoint addressed by hostname (see waypoint-address.ts) and says
 * so; otherwise reports the L7 steps as not working.
 */
async function checkRoute(s: Starter, layout: DemoLayout): Promise<void> {
  const dir = s.state.stateDir;
  let route = await checkWaypointRoute(dir, layout);
  if (route === undefined) return;
  let note = '';
  const wp = layout.pods.find((p) => p.role === 'waypoint');
  const gateway = wp?.labels['gateway.networking.k8s.io/gateway-name'];
  if (!route.ok && wp !== undefined && gateway !== undefined) {
    const first = route.detail;
    const file = await addressWaypointByHostname(s.state.configDir, wp.namespace, gateway);
    if (file !== undefined) {
      for (let i = 0; i < 10 && route?.ok !== true; i++) {
        await new Promise((r) => setTimeout(r, 500));
        route = await checkWaypointRoute(dir, layout);
      }
      note =
        route?.ok === true
          ? ` (the agents bypassed the waypoint while it was addressed by its Service VIP, so the demo addresses it by hostname: clusterIP removed from ${file})`
          : ` (also tried addressing the waypoint by hostname; first attempt: ${first})`;
    }
  }
  if (route === undefined) return;
  await s.component({
    name: 'waypoint-route',
    ok: route.ok,
    detail: route.ok ? `${route.detail}${note}` : `${DemoErrorCode.ComponentMissing}: ${route.detail}${note}`,
  });
}

/** Makes the state directory: config copy (minus the tour's policies), tokens, the JWT key. */
async function prepareStateDir(stateDir: string, exampleDir: string): Promise<string> {
  const configDir = join(stateDir, 'config');
  for (const d of ['', 'config', 'logs', 'ca', 'tokens', 'relay'])
    await mkdir(join(stateDir, d), { recursive: true });
  await chmod(stateDir, 0o700);
  const source = join(exampleDir, 'config');
  let names: string[];
  try {
    names = (await readdir(source)).filter((n) => /\.ya?ml$/.test(n));
  } catch (err) {
    throw new DemoError(DemoErrorCode.Config, `cannot read the demo config ${source}: ${String(err)}`, {
      cause: err,
    });
  }
  for (const n of names) if (!TOUR_APPLIED.has(n)) await copyFile(join(source, n), join(configDir, n));
  await copyFile(join(exampleDir, 'bootstrap-tokens.yaml'), join(stateDir, 'bootstrap-tokens.yaml'));
  await writeFile(join(stateDir, 'jwt-key.pem'), createDemoKeyPem(), { mode: 0o600 });
  return configDir;
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
  const removed = await stopDemo(stateDir, { quiet: true });
  if (previous !== undefined || removed > 0)
    io.stdout(`removed a previous demo (${removed} processes/namespaces)\n`);

  const layout = await loadLayout(join(exampleDir, 'config'));
  const busy: number[] = [];
  const ports = [
    ...Object.values(PILOT_PORTS),
    ...(mode === 'full'
      ? layout.nodes.flatMap((n) => [n.ports.admin, n.ports.metrics, n.ports.readiness])
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
  }
  if (mode === 'full')
    io.stdout(
      "  --   ingress        not started: the demo has no ingress gateway yet (weft-waypoint's gateway mode is not wired in)\n",
    );
  state.phase = 'up';
  await writeState(state);
  io.stdout(`\n${renderSummary(state, layout)}\n`);
  const missing = new Set(state.components.filter((c) => !c.ok).map((c) => c.name));
  const { availableCommands } = await import('./commands-available.js');
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
