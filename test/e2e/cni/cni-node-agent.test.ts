/**
 * The whole hand-over with the real components: weft-pilot (directory config, CA), the real weft-node,
 * and a CNI chain bridge + host-local + weft-cni run as a runtime runs it. After ADD, weft-node has the
 * pod: capture rules and listeners inside the pod's netns, a workload certificate (read back with
 * `weftctl certs`); after DEL it lets the pod go.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '@weft/cli';
import { type App, freePort, rootSkipReason, spawnApp, waitFor } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..', '..');
const CNI_DIR = '/usr/lib/cni';
const bins = ['packages/pilot/bin/weft-pilot.mjs', 'packages/node-agent/bin/weft-node.mjs'];
const skip =
  rootSkipReason() ??
  (existsSync(join(CNI_DIR, 'bridge')) ? undefined : `needs containernetworking-plugins in ${CNI_DIR}`) ??
  (bins.every((b) => existsSync(join(repo, b))) ? undefined : 'needs packages/pilot and packages/node-agent');
if (skip !== undefined) console.warn(`skipping weft-cni with the real weft-node: ${skip}`);

const suffix = randomBytes(3).toString('hex');
const nodeNs = `wca${suffix}`;
const podNs = `wcb${suffix}`;
const POD_IP = '10.199.9.10';
const made: string[] = [];
const apps: App[] = [];
let dir = '';

function cleanup(): void {
  for (const ns of made.splice(0)) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
}
process.once('exit', cleanup);

const CONFIG = `apiVersion: v1
kind: Namespace
metadata:
  name: istio-system
---
apiVersion: v1
kind: Namespace
metadata:
  name: prod
  labels:
    istio.io/dataplane-mode: ambient
---
apiVersion: v1
kind: Node
metadata:
  name: node-a
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  namespace: prod
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: prod
  labels:
    app: web
spec:
  nodeName: node-a
  serviceAccountName: web
  containers:
    - name: app
      image: web
status:
  podIP: ${POD_IP}
  podIPs:
    - ip: ${POD_IP}
`;

let conflist: { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
let adminUrl = '';

function runPlugin(
  type: string,
  env: Record<string, string>,
  conf: object,
): Promise<{ code: number; stdout: string }> {
  const bin = [CNI_DIR, join(dir, 'bin')].map((d) => join(d, type)).find((p) => existsSync(p)) ?? type;
  const vars = Object.entries({ ...env, CNI_PATH: `${CNI_DIR}:${join(dir, 'bin')}` }).map(
    ([k, v]) => `${k}=${v}`,
  );
  return new Promise((resolve) => {
    const child = execFile(
      'ip',
      ['netns', 'exec', nodeNs, 'env', ...vars, bin],
      { timeout: 60_000 },
      (err, stdout) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout }),
    );
    child.stdin?.end(JSON.stringify(conf));
  });
}

async function chain(command: 'ADD' | 'DEL'): Promise<{ ok: boolean; detail: string }> {
  const env = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'ctr-web-1',
    CNI_NETNS: `/var/run/netns/${podNs}`,
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=prod;K8S_POD_NAME=web-1;K8S_POD_UID=uid-web-1',
  };
  let prevResult: unknown;
  for (const plugin of command === 'ADD' ? conflist.plugins : [...conflist.plugins].reverse()) {
    const conf = {
      ...plugin,
      name: conflist.name,
      cniVersion: conflist.cniVersion,
      ...(prevResult ? { prevResult } : {}),
    };
    const run = await runPlugin(String(plugin.type), env, conf);
    if (run.code !== 0) return { ok: false, detail: `${String(plugin.type)}: ${run.stdout}` };
    if (command === 'ADD') prevResult = JSON.parse(run.stdout);
  }
  return { ok: true, detail: '' };
}

async function capture(): Promise<{ rules: string; listening: string }> {
  const rules = execFileSync('ip', ['netns', 'exec', podNs, 'iptables-save'], { encoding: 'utf8' });
  const listening = execFileSync('ip', ['netns', 'exec', podNs, 'ss', '-ltnH'], { encoding: 'utf8' });
  return { rules, listening };
}

async function dump(): Promise<{ pods?: { name: string; namespace: string }[] }> {
  const res = await fetch(`${adminUrl}/config_dump`, { signal: AbortSignal.timeout(5000) });
  return (await res.json()) as { pods?: { name: string; namespace: string }[] };
}

describe.skipIf(skip !== undefined)('weft-cni hands a new pod to the real weft-node', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-cni-agent-'));
    for (const d of ['bin', 'config', 'ipam', 'ca']) mkdirSync(join(dir, d));
    for (const ns of [nodeNs, podNs]) {
      execFileSync('ip', ['netns', 'add', ns]);
      made.push(ns);
      execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    writeFileSync(join(dir, 'config', 'mesh.yaml'), CONFIG);
    const token = `node-a-${randomBytes(12).toString('hex')}`;
    writeFileSync(join(dir, 'tokens.yaml'), `tokens:\n  "${token}":\n    kind: node\n    node: node-a\n`);
    writeFileSync(join(dir, 'node-a.token'), `${token}\n`, { mode: 0o600 });
    const [xds, ca, pAdmin, pMetrics, pReady, nAdmin, nMetrics, nReady] = await Promise.all(
      Array.from({ length: 8 }, () => freePort()),
    );
    apps.push(
      await spawnApp({
        name: 'weft-pilot',
        command: process.execPath,
        args: [
          join(repo, bins[0] ?? ''),
          ...[
            '--source',
            'directory',
            '--config-dir',
            join(dir, 'config'),
            '--bootstrap-tokens',
            join(dir, 'tokens.yaml'),
          ],
          ...[
            '--ca-dir',
            join(dir, 'ca'),
            '--host',
            '127.0.0.1',
            '--xds-port',
            String(xds),
            '--secure-port',
            String(ca),
          ],
          ...[
            '--admin-port',
            String(pAdmin),
            '--metrics-port',
            String(pMetrics),
            '--readiness-port',
            String(pReady),
          ],
        ],
        ready: { url: `http://127.0.0.1:${pReady}/healthz/ready` },
        timeoutMs: 60_000,
      }),
    );
    const socket = join(dir, 'node.sock');
    adminUrl = `http://127.0.0.1:${nAdmin}`;
    apps.push(
      await spawnApp({
        name: 'weft-node',
        command: process.execPath,
        args: [
          join(repo, bins[1] ?? ''),
          ...['--xds-address', `127.0.0.1:${xds}`, '--xds-tls', 'false', '--ca-address', `127.0.0.1:${ca}`],
          ...['--ca-root-cert', join(dir, 'ca', 'root-cert.pem'), '--node-name', 'node-a'],
          ...['--token-file', join(dir, 'node-a.token'), '--socket', socket, '--workers', '1'],
          ...[
            '--admin-port',
            String(nAdmin),
            '--metrics-port',
            String(nMetrics),
            '--readiness-port',
            String(nReady),
          ],
          '--uninstall-on-exit',
        ],
        // Listening is enough: the agent turns ready once discovery synced and its pods are restored.
        ready: { logLine: /weft-node started/ },
        timeoutMs: 60_000,
      }),
    );
    // Ready without any pod: in Kubernetes nothing sends a snapshot first (weft-cni runs per pod).
    await waitFor(
      async () =>
        (await fetch(`http://127.0.0.1:${nReady}/healthz/ready`).then(
          (r) => r.status,
          () => 0,
        )) === 200,
      { timeoutMs: 30_000, what: 'weft-node readiness' },
    );
    // weft-cni as the runtime finds it in CNI_PATH (the TypeScript source here; the image ships the
    // single executable, which cni-chain.test.ts runs).
    writeFileSync(
      join(dir, 'bin', 'weft-cni'),
      `#!/bin/sh\nexec ${process.execPath} ${join(repo, 'packages/cni/bin/weft-cni.mjs')} "$@"\n`,
    );
    chmodSync(join(dir, 'bin', 'weft-cni'), 0o755);
    conflist = {
      cniVersion: '1.0.0',
      name: 'weft-agent-e2e',
      plugins: [
        {
          type: 'bridge',
          bridge: `wbr${suffix}`,
          isGateway: true,
          ipMasq: false,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: '10.199.9.0/24', rangeStart: POD_IP, rangeEnd: POD_IP }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: join(dir, 'ipam'),
          },
        },
        {
          type: 'weft-cni',
          socketPath: socket,
          failurePolicy: 'closed',
          logFile: join(dir, 'cni.log'),
          metadata: {
            namespaces: { prod: { labels: { 'istio.io/dataplane-mode': 'ambient' } } },
            pods: { 'prod/web-1': { serviceAccount: 'web', labels: { app: 'web' } } },
            peerAuthentications: [],
          },
        },
      ],
    };
  }, 180_000);

  afterAll(async () => {
    for (const app of apps.reverse()) await app.stop(5000);
    cleanup();
  });

  it('ADD: weft-node captures the pod (rules and listeners in its netns) and gets its certificate', async () => {
    const add = await chain('ADD');
    expect(add.ok, `${add.detail}\n${apps.map((a) => a.output().slice(-2000)).join('\n')}`).toBe(true);
    await waitFor(async () => (await dump()).pods?.some((p) => p.name === 'web-1') === true, {
      timeoutMs: 20_000,
      what: 'weft-node to list web-1',
    });
    const { rules, listening } = await capture();
    expect(rules).toContain('--to-ports 15001');
    expect(listening).toMatch(/:15008\b/);
    let out = '';
    const io = {
      stdout: (t: string) => {
        out += t;
      },
      stderr: () => undefined,
      isTty: false,
      env: {},
      cwd: dir,
    };
    await waitFor(async () => (await main(['certs', 'prod/web-1', '--admin', adminUrl], io)) === 0, {
      timeoutMs: 30_000,
      what: 'a workload certificate for web-1',
    });
    expect(out).toContain('spiffe://cluster.local/ns/prod/sa/web');
  }, 120_000);

  it('DEL: weft-node lets the pod go and the chain cleans up', async () => {
    const del = await chain('DEL');
    expect(del.ok, del.detail).toBe(true);
    await waitFor(async () => (await dump()).pods?.some((p) => p.name === 'web-1') !== true, {
      timeoutMs: 20_000,
      what: 'weft-node to drop web-1',
    });
    const { listening } = await capture();
    expect(listening).not.toMatch(/:15008\b/);
    expect(execFileSync('ip', ['-n', podNs, 'link', 'show'], { encoding: 'utf8' })).not.toContain('eth0');
  }, 60_000);
});
