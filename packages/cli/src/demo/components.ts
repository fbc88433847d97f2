/**
 * Each component of the demo started as its own detached process, waited on with bounded polling, and
 * reported (ok, or WEFT_DEMO_* with the end of its log): pilot, the apps, a weft-node per node, and the
 * waypoint with its relay to pilot.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addPods } from './agent-client.js';
import { DemoErrorCode } from './errors.js';
import { appArgv, appPresent, httpbinArgv, relayArgv } from './launch.js';
import { type DemoLayout, type DemoNode, type DemoPod, PILOT_PORTS } from './layout.js';
import { netnsHttpStatus } from './netns-probe.js';
import { httpStatus, logMatches, waitUntil } from './probe.js';
import { checkWaypointRoute } from './route-check.js';
import { type Starter, tokenFor } from './starter.js';

export async function startPilot(s: Starter, root: string): Promise<boolean> {
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

export async function startApps(s: Starter, layout: DemoLayout): Promise<boolean> {
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

export async function startNode(s: Starter, layout: DemoLayout, node: DemoNode, root: string): Promise<void> {
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

/** Bridges pilot's ports into a pod's namespace (see relay.ts): the host half once, one inner half per pod. */
async function relayInto(s: Starter, pod: DemoPod): Promise<string | undefined> {
  const pairs = [PILOT_PORTS.xds, PILOT_PORTS.ca].map(
    (p) => `${p}=${join(s.state.stateDir, 'relay', `${p}.sock`)}`,
  );
  const started: Array<[number, string]> = [];
  if (!s.state.processes.some((p) => p.name === 'relay-host'))
    started.push([await s.spawn('relay-host', relayArgv(['outer', ...pairs]), {}), 'relay-host']);
  const inner = `relay-${pod.name.replace(/-0$/, '')}`;
  started.push([await s.spawn(inner, relayArgv(['inner', ...pairs]), {}, pod.netns), inner]);
  for (const [pid, name] of started) {
    const r = await waitUntil(logMatches(s.logFile(name), /relay \w+ ready/), pid, 20_000);
    if (!r.ok) return s.failure(`the ${name} relay to pilot`, r.why, name);
  }
  return undefined;
}

/** weft-waypoint (as waypoint or gateway) in `pod`'s namespace, certificates and config from pilot. */
async function startProxy(
  s: Starter,
  pod: DemoPod,
  root: string,
  options: { component: string; name: string; tokenFile: string; extra: string[] },
): Promise<number | undefined> {
  const relayProblem = await relayInto(s, pod);
  if (relayProblem !== undefined) {
    await s.component({ name: options.component, ok: false, detail: relayProblem });
    return undefined;
  }
  const dir = s.state.stateDir;
  const pid = await s.spawn(
    options.component,
    appArgv(
      'waypoint',
      [
        ...options.extra,
        '--xds-address',
        `127.0.0.1:${PILOT_PORTS.xds}`,
        '--ca-address',
        `127.0.0.1:${PILOT_PORTS.ca}`,
        '--ca-root-cert',
        join(dir, 'ca', 'root-cert.pem'),
        '--token-file',
        options.tokenFile,
        '--name',
        options.name,
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
      name: options.component,
      ok: false,
      detail: s.failure(`weft-waypoint (${options.component}) in ${pod.netns}`, ready.why, options.component),
    });
    return undefined;
  }
  return pid;
}

export async function startWaypoint(s: Starter, layout: DemoLayout, root: string): Promise<void> {
  const pod = layout.pods.find((p) => p.role === 'waypoint');
  if (pod === undefined) return;
  const token = await tokenFor(
    join(s.state.stateDir, 'bootstrap-tokens.yaml'),
    (g) =>
      g.kind === 'workload' && (g.identity ?? '').endsWith(`/ns/${pod.namespace}/sa/${pod.serviceAccount}`),
  );
  const tokenFile = join(s.state.stateDir, 'tokens', 'waypoint.token');
  await writeFile(tokenFile, `${token ?? ''}\n`, { mode: 0o600 });
  const name = pod.labels['gateway.networking.k8s.io/gateway-name'] ?? 'waypoint';
  const pid = await startProxy(s, pod, root, { component: 'waypoint', name, tokenFile, extra: [] });
  if (pid === undefined) return;
  await s.component({
    name: 'waypoint',
    ok: true,
    detail: `weft-waypoint pid ${pid} in ${pod.netns} (${pod.ip}:15008)`,
  });
}

/**
 * The ingress gateway (weft-waypoint --mode ingress) and a check that a client outside the mesh gets
 * through it into the mesh.
 */
export async function startIngress(
  s: Starter,
  layout: DemoLayout,
  root: string,
  token: string,
): Promise<void> {
  const pod = layout.pods.find((p) => p.role === 'ingress');
  const outside = layout.pods.find((p) => p.role === 'outside');
  if (pod === undefined || outside === undefined) return;
  const tokenFile = join(s.state.stateDir, 'tokens', 'ingress.token');
  await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
  const pid = await startProxy(s, pod, root, {
    component: 'ingress',
    name: pod.serviceAccount,
    tokenFile,
    extra: ['--mode', 'ingress'],
  });
  if (pid === undefined) return;
  const url = `http://${pod.ip}:${pod.appPort}/get`;
  let status: number | undefined;
  for (let i = 0; i < 20 && status !== 200; i++) {
    status = await netnsHttpStatus(outside.netns, url, 3);
    if (status !== 200) await new Promise((r) => setTimeout(r, 250));
  }
  await s.component({
    name: 'ingress',
    ok: status === 200,
    detail:
      status === 200
        ? `weft-waypoint --mode ingress pid ${pid} in ${pod.netns}: outside → ${url} → web.frontend answers 200`
        : `${DemoErrorCode.ComponentMissing}: the ingress gateway runs (pid ${pid}) but outside → ${url} answered ${status ?? 'nothing'}; see ${s.logFile('ingress')}`,
  });
}

/** Checks that waypoint Services go through the waypoint; otherwise the L7 steps are reported as not working. */
export async function checkRoute(s: Starter, layout: DemoLayout): Promise<void> {
  const route = await checkWaypointRoute(s.state.stateDir, layout);
  if (route === undefined) return;
  await s.component({
    name: 'waypoint-route',
    ok: route.ok,
    detail: route.ok ? route.detail : `${DemoErrorCode.ComponentMissing}: ${route.detail}`,
  });
}
