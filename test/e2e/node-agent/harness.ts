/**
 * A two-node mesh of real processes for the weft-node e2e tests: network-namespace nodes and pods
 * (testkit topology), weft-pilot serving a YAML directory the test writes, one weft-node process per
 * node (in the host namespace, entering pod namespaces with setns), echo apps inside the pods, and a
 * lifecycle client that enrolls the pods.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectIn, Netns } from '@weft/netns';
import { type App, createTopology, freePort, spawnApp, type Topology, waitFor } from '@weft/testkit';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const RUN_MAIN = join(import.meta.dirname, 'run-main.mjs');
export const PILOT_MAIN = join(ROOT, 'packages/pilot/src/main.ts');
export const NODE_BIN = join(ROOT, 'packages/node-agent/bin/weft-node.mjs');

/** An echo app: answers every connection with "<its port>|<client ip>|" then echoes. */
const ECHO_APP = `
const net = require('net');
const ports = process.argv.slice(1).map(Number);
let up = 0;
for (const port of ports) {
  net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.write(port + '|' + s.remoteAddress + '|');
    s.pipe(s);
  }).listen(port, '0.0.0.0', () => { if (++up === ports.length) console.log('listening ' + ports.join(',')); });
}`;

export interface MeshPod {
  name: string;
  namespace: string;
  sa: string;
  node: 'node1' | 'node2';
  labels?: Record<string, string>;
}

export interface Agent {
  node: 'node1' | 'node2';
  app: App;
  socketPath: string;
  adminPort: number;
  metricsPort: number;
  readinessPort: number;
}

export class Mesh {
  readonly topo: Topology;
  readonly dir: string;
  readonly configDir: string;
  readonly caDir: string;
  readonly pods: MeshPod[];
  pilot: App | undefined;
  pilotXdsPort = 0;
  pilotSecurePort = 0;
  readonly agents = new Map<string, Agent>();
  readonly apps: App[] = [];
  readonly #tokens: Record<string, string> = {};

  private constructor(topo: Topology, dir: string, pods: MeshPod[]) {
    this.topo = topo;
    this.dir = dir;
    this.configDir = join(dir, 'config');
    this.caDir = join(dir, 'ca');
    this.pods = pods;
  }

  static async create(pods: MeshPod[], extra: { outsiders?: string[] } = {}): Promise<Mesh> {
    const topo = await createTopology({
      nodes: ['node1', 'node2'].map((node) => ({
        name: node,
        pods: [
          ...pods.filter((p) => p.node === node).map((p) => ({ name: p.name })),
          ...(node === 'node1' ? (extra.outsiders ?? []).map((name) => ({ name })) : []),
        ],
      })),
    });
    const dir = mkdtempSync(join(tmpdir(), 'weft-e2e-node-'));
    const mesh = new Mesh(topo, dir, pods);
    try {
      await mesh.#writeBaseConfig();
    } catch (err) {
      await mesh.destroy();
      throw err;
    }
    return mesh;
  }

  pod(name: string) {
    return this.topo.pod(name);
  }

  async #writeBaseConfig(): Promise<void> {
    mkdirSync(this.configDir, { recursive: true });
    const namespaces = [...new Set(this.pods.map((p) => p.namespace))];
    const docs: string[] = [
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: istio-system\n',
      ...namespaces.map(
        (ns) =>
          `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n  labels:\n    istio.io/dataplane-mode: ambient\n`,
      ),
      ...['node1', 'node2'].map((n) => `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${n}\n`),
      ...[...new Set(this.pods.map((p) => `${p.namespace}/${p.sa}`))].map((k) => {
        const [ns, sa] = k.split('/');
        return `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${sa}\n  namespace: ${ns}\n`;
      }),
      ...this.pods.map((p) => {
        const ip = this.pod(p.name).ip;
        const labels = { app: p.name, ...p.labels };
        return [
          'apiVersion: v1',
          'kind: Pod',
          'metadata:',
          `  name: ${p.name}`,
          `  namespace: ${p.namespace}`,
          '  labels:',
          ...Object.entries(labels).map(([k, v]) => `    ${k}: "${v}"`),
          'spec:',
          `  nodeName: ${p.node}`,
          `  serviceAccountName: ${p.sa}`,
          '  containers:',
          '    - name: app',
          '      image: echo',
          'status:',
          `  podIP: ${ip}`,
          '  podIPs:',
          `    - ip: ${ip}`,
          '',
        ].join('\n');
      }),
    ];
    this.writeConfig('00-base.yaml', docs.join('---\n'));
    const tokens: string[] = ['tokens:'];
    for (const node of ['node1', 'node2']) {
      const token = `e2e-${node}-${Math.random().toString(36).slice(2)}`;
      this.#tokens[node] = token;
      writeFileSync(join(this.dir, `${node}.token`), `${token}\n`);
      tokens.push(`  "${token}":\n    kind: node\n    node: ${node}`);
    }
    writeFileSync(join(this.dir, 'tokens.yaml'), `${tokens.join('\n')}\n`);
  }

  /** Writes (atomically) one YAML file of the config directory pilot watches. */
  writeConfig(name: string, yaml: string): void {
    const tmp = join(this.dir, `.${name}.tmp`);
    writeFileSync(tmp, yaml);
    renameSync(tmp, join(this.configDir, name));
  }

  removeConfig(name: string): void {
    rmSync(join(this.configDir, name), { force: true });
  }

  async startPilot(): Promise<void> {
    if (this.pilotXdsPort === 0) {
      this.pilotXdsPort = await freePort();
      this.pilotSecurePort = await freePort();
    }
    const readiness = await freePort();
    this.pilot = await spawnApp({
      name: 'weft-pilot',
      command: process.execPath,
      args: [
        RUN_MAIN,
        PILOT_MAIN,
        '--config-dir',
        this.configDir,
        '--bootstrap-tokens',
        join(this.dir, 'tokens.yaml'),
        '--ca-dir',
        this.caDir,
        '--xds-port',
        String(this.pilotXdsPort),
        '--secure-port',
        String(this.pilotSecurePort),
        '--host',
        '127.0.0.1',
        '--metrics-port',
        'off',
        '--readiness-port',
        String(readiness),
        '--admin-port',
        'off',
        '--log-level',
        'warn',
      ],
      env: { ...process.env, PILOT_DEBOUNCE_AFTER: '20' },
      ready: { url: `http://127.0.0.1:${readiness}/healthz/ready` },
      timeoutMs: 30_000,
    });
  }

  async stopPilot(): Promise<void> {
    await this.pilot?.stop();
    this.pilot = undefined;
  }

  /** Starts weft-node for `node`; resolves once its readiness port answers (not necessarily ready). */
  async startAgent(
    node: 'node1' | 'node2',
    env: Record<string, string> = {},
    nodeFlags: string[] = [],
  ): Promise<Agent> {
    // A port picked by freePort can be taken by another process before the agent binds it: try again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#startAgentOnce(node, env, nodeFlags);
      } catch (err) {
        if (attempt >= 3 || !String(err).includes('EADDRINUSE')) throw err;
      }
    }
  }

  async #startAgentOnce(
    node: 'node1' | 'node2',
    env: Record<string, string>,
    nodeFlags: string[],
  ): Promise<Agent> {
    const [adminPort, metricsPort, readinessPort] = [await freePort(), await freePort(), await freePort()];
    const socketPath = join(this.dir, `${node}-${Date.now()}.sock`);
    const app = await spawnApp({
      name: `weft-node-${node}`,
      command: process.execPath,
      args: [...nodeFlags, NODE_BIN],
      env: {
        ...process.env,
        XDS_ADDRESS: `127.0.0.1:${this.pilotXdsPort}`,
        XDS_TLS: 'false',
        CA_ADDRESS: `127.0.0.1:${this.pilotSecurePort}`,
        CA_ROOT_CERT: join(this.caDir, 'root-cert.pem'),
        NODE_NAME: node,
        BOOTSTRAP_TOKEN_FILE: join(this.dir, `${node}.token`),
        LIFECYCLE_SOCKET: socketPath,
        ADMIN_PORT: String(adminPort),
        METRICS_PORT: String(metricsPort),
        READINESS_PORT: String(readinessPort),
        WORKER_THREADS: process.env.E2E_WORKER_THREADS ?? '2',
        LOG_LEVEL: 'info',
        DRAIN_SECONDS: '1',
        ...env,
      },
    });
    // Up once its readiness port answers at all (503 while restoring pods or syncing, 200 after).
    await waitFor(
      async () => {
        if (app.exited) throw new Error(`weft-node-${node} exited:\n${app.output().slice(-3000)}`);
        try {
          const r = await fetch(`http://127.0.0.1:${readinessPort}/healthz/ready`);
          await r.arrayBuffer();
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, what: `weft-node-${node} listening` },
    );
    const agent = { node, app, socketPath, adminPort, metricsPort, readinessPort };
    this.agents.set(node, agent);
    return agent;
  }

  /** The lifecycle messages' pod fields for a mesh pod. */
  podInfo(name: string, labels: Record<string, string> = {}) {
    const p = this.pods.find((x) => x.name === name);
    if (p === undefined) throw new Error(`no mesh pod ${name}`);
    const t = this.pod(name);
    return {
      uid: `uid-${name}`,
      name,
      namespace: p.namespace,
      serviceAccount: p.sa,
      netnsPath: t.netnsPath,
      ips: [t.ip],
      labels: { ...p.labels, ...labels },
    };
  }

  /** Sends one lifecycle message to an agent and returns its ack. */
  async lifecycle(
    node: string,
    message: unknown,
  ): Promise<{ ok: boolean; error?: { code: string; message: string } }> {
    const agent = this.agents.get(node);
    if (agent === undefined) throw new Error(`no agent on ${node}`);
    const socket: Socket = connect(agent.socketPath);
    return new Promise((resolve, reject) => {
      let buf = '';
      socket.setEncoding('utf8');
      socket.once('error', reject);
      socket.on('data', (d: string) => {
        buf += d;
        const nl = buf.indexOf('\n');
        if (nl !== -1) {
          socket.end();
          resolve(JSON.parse(buf.slice(0, nl)));
        }
      });
      socket.write(`${JSON.stringify(message)}\n`);
    });
  }

  /** Enrolls every mesh pod of `node` with one snapshot, then waits for the agent to be ready. */
  async enroll(node: 'node1' | 'node2', opts: { timeoutMs?: number } = {}): Promise<void> {
    const pods = this.pods.filter((p) => p.node === node).map((p) => this.podInfo(p.name));
    const ack = await this.lifecycle(node, { type: 'snapshot', pods });
    if (!ack.ok) throw new Error(`snapshot on ${node} failed: ${JSON.stringify(ack.error)}`);
    const agent = this.agents.get(node) as Agent;
    await waitFor(
      async () => {
        try {
          const r = await fetch(`http://127.0.0.1:${agent.readinessPort}/healthz/ready`);
          await r.arrayBuffer();
          return r.status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: opts.timeoutMs ?? 20_000, what: `${node} agent ready` },
    ).catch(async (err: Error) => {
      const pending = await fetch(`http://127.0.0.1:${agent.readinessPort}/healthz/ready`)
        .then((r) => r.text())
        .catch(() => '?');
      throw new Error(`${err.message}: ${pending}\n${agent.app.output().slice(-3000)}`);
    });
  }

  /** Starts the echo app in a pod on the given ports. */
  async startApp(pod: string, ports: number[]): Promise<App> {
    const app = await spawnApp({
      name: `app-${pod}`,
      command: process.execPath,
      args: ['-e', ECHO_APP, ...ports.map(String)],
      netns: this.pod(pod).netns,
      ready: { logLine: /^listening/ },
    });
    this.apps.push(app);
    return app;
  }

  async stopAgent(node: string): Promise<void> {
    await this.agents.get(node)?.app.stop();
    this.agents.delete(node);
  }

  async destroy(): Promise<void> {
    for (const a of this.agents.values()) await a.app.stop(2000).catch(() => undefined);
    for (const a of this.apps) await a.stop(1000).catch(() => undefined);
    await this.stopPilot().catch(() => undefined);
    await this.topo.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Exchange {
  data: string;
  error?: string;
}

/**
 * Connects from inside a pod's namespace (unmarked: captured like the pod's own traffic), sends
 * `payload`, half-closes, and reads until the end. Resolves (never rejects) with what came back.
 */
export function exchange(
  netnsPath: string,
  host: string,
  port: number,
  payload: string,
  timeoutMs = 10_000,
): Promise<Exchange> {
  const ns = Netns.open(netnsPath);
  return new Promise((resolve) => {
    let data = '';
    let done = false;
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      ns.close();
      socket.destroy();
      resolve(error === undefined ? { data } : { data, error });
    };
    const socket = connectIn(ns, { host, port });
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      data += d;
    });
    socket.once('connect', () => socket.end(payload));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
    socket.once('end', () => finish());
    socket.once('close', () => finish());
    socket.setTimeout(timeoutMs, () => finish('ETIMEDOUT'));
  });
}

/** Polls `exchange` until `accept(result)`; for config changes that take a moment to arrive. */
export async function eventually(
  what: string,
  attempt: () => Promise<Exchange>,
  accept: (r: Exchange) => boolean,
  timeoutMs = 15_000,
): Promise<Exchange> {
  let last: Exchange = { data: '' };
  await waitFor(
    async () => {
      last = await attempt();
      return accept(last);
    },
    { timeoutMs, intervalMs: 100, what: `${what} (last: ${JSON.stringify(last)})` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last result ${JSON.stringify(last)}`);
  });
  return last;
}
