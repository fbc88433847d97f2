/**
 * weft-cni in a real CNI chain: Debian's bridge + host-local create the pod's interface inside a "node"
 * network namespace, then weft-cni (installed by `weft-cni install` into a scratch CNI directory) hands
 * the pod to a fake weft-node listening on a Unix socket, exactly as a container runtime invokes them.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootSkipReason } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..', '..');
const CNI_DIR = '/usr/lib/cni';
const skip =
  rootSkipReason() ??
  (existsSync(join(CNI_DIR, 'bridge')) && existsSync(join(CNI_DIR, 'host-local'))
    ? undefined
    : `needs containernetworking-plugins in ${CNI_DIR} (scripts/setup.sh installs it)`);
if (skip !== undefined) console.warn(`skipping weft-cni chain tests: ${skip}`);

const suffix = randomBytes(3).toString('hex');
const nodeNs = `wcn${suffix}`;
const podNs = `wcp${suffix}`;
const podNs2 = `wcq${suffix}`;
const bridge = `wbr${suffix}`;
const made: string[] = [];
let dir = '';
let socketPath = '';
let server: Server | undefined;
const messages: Record<string, unknown>[] = [];
const netnsSeen: boolean[] = [];

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

interface Run {
  code: number;
  stdout: string;
  ms: number;
}

/** Runs one plugin the way a runtime does: CNI_* env, config on stdin, inside the node's netns. */
function runPlugin(type: string, env: Record<string, string>, conf: object): Promise<Run> {
  const cniPath = `${CNI_DIR}:${join(dir, 'bin')}`;
  const bin = [CNI_DIR, join(dir, 'bin')].map((d) => join(d, type)).find((p) => existsSync(p));
  if (bin === undefined) throw new Error(`no plugin ${type} in ${cniPath}`);
  const started = performance.now();
  return new Promise((resolve) => {
    const child = execFile(
      'ip',
      [
        'netns',
        'exec',
        nodeNs,
        'env',
        ...Object.entries({ ...env, CNI_PATH: cniPath }).map(([k, v]) => `${k}=${v}`),
        bin,
      ],
      { timeout: 30_000 },
      (err, stdout) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, ms: performance.now() - started });
      },
    );
    child.stdin?.end(JSON.stringify(conf));
  });
}

type Conflist = { cniVersion: string; name: string; plugins: Record<string, unknown>[] };

/** libcni's chain: ADD in order with prevResult; on failure the runtime runs DEL for the chain. */
async function chain(command: 'ADD' | 'DEL', list: Conflist, podNetns: string, podName: string, uid: string) {
  const env = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: `ctr-${podName}`,
    CNI_NETNS: `/var/run/netns/${podNetns}`,
    CNI_IFNAME: 'eth0',
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=prod;K8S_POD_NAME=${podName};K8S_POD_UID=${uid}`,
  };
  const plugins = command === 'ADD' ? list.plugins : [...list.plugins].reverse();
  let prevResult: unknown;
  const runs: Run[] = [];
  for (const plugin of plugins) {
    const conf = {
      ...plugin,
      name: list.name,
      cniVersion: list.cniVersion,
      ...(prevResult ? { prevResult } : {}),
    };
    const run = await runPlugin(plugin.type as string, env, conf);
    runs.push(run);
    if (run.code !== 0)
      return { ok: false, runs, error: JSON.parse(run.stdout) as { code: number; msg: string } };
    if (command === 'ADD') prevResult = JSON.parse(run.stdout);
  }
  return { ok: true, runs, result: prevResult as { ips: { address: string }[] } };
}

let conflist: Conflist;

describe.skipIf(skip !== undefined)('weft-cni in a real CNI chain (bridge + host-local + weft-cni)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-cni-e2e-'));
    for (const d of ['bin', 'net.d', 'ipam']) mkdirSync(join(dir, d));
    for (const ns of [nodeNs, podNs, podNs2]) {
      execFileSync('ip', ['netns', 'add', ns]);
      made.push(ns);
      execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    // The plugin as the runtime sees it: the single executable the container image ships (built here
    // from the source by the same script the Dockerfile runs), installed as weft-cni in CNI_PATH.
    execFileSync(
      process.execPath,
      [join(repo, 'packages/cni/scripts/build-sea.mjs'), join(dir, 'weft-cni-source')],
      {
        stdio: 'ignore',
      },
    );
    // The primary network, as a cluster's CNI would write it.
    writeFileSync(
      join(dir, 'net.d', '10-weft-e2e.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'weft-e2e',
        plugins: [
          {
            type: 'bridge',
            bridge,
            isGateway: true,
            ipMasq: false,
            ipam: {
              type: 'host-local',
              subnet: '10.199.7.0/24',
              routes: [{ dst: '0.0.0.0/0' }],
              dataDir: join(dir, 'ipam'),
            },
          },
        ],
      }),
    );
    socketPath = join(dir, 'node.sock');
    server = createServer((socket) => {
      let buf = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        buf += chunk;
        for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
          const msg = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
          buf = buf.slice(nl + 1);
          messages.push(msg);
          // What the real agent does first: open the pod's netns by path.
          const path = (msg.pod as { netnsPath?: string } | undefined)?.netnsPath;
          if (path !== undefined) netnsSeen.push(existsSync(path));
          socket.write(`${JSON.stringify({ ok: true })}\n`);
        }
      });
    });
    await new Promise<void>((r) => server?.listen(socketPath, r));
  });

  afterAll(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    cleanup();
  });

  it('weft-cni install chains the plugin into the primary conflist (idempotent)', () => {
    const bin = join(repo, 'packages/cni/bin/weft-cni.mjs');
    const args = [
      'install',
      '--cni-bin-dir',
      join(dir, 'bin'),
      '--cni-conf-dir',
      join(dir, 'net.d'),
      '--plugin-source',
      join(dir, 'weft-cni-source'),
      '--socket',
      socketPath,
      '--log-file',
      join(dir, 'cni.log'),
      '--exclude-namespaces',
      'kube-system,weft-system',
      '--service-account-dir',
      join(dir, 'no-such-dir'),
      '--wait-seconds',
      '0',
    ];
    const first = execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
    expect(first).toContain('installed');
    expect(execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8' })).toContain(
      'already installed',
    );
    conflist = JSON.parse(readFileSync(join(dir, 'net.d', '10-weft-e2e.conflist'), 'utf8')) as Conflist;
    expect(conflist.plugins.map((p) => p.type)).toEqual(['bridge', 'weft-cni']);
    expect(existsSync(join(dir, 'bin', 'weft-cni'))).toBe(true);
    // Outside Kubernetes the plugin learns labels from its config instead of the API.
    const weft = conflist.plugins[1] as Record<string, unknown>;
    weft.metadata = {
      namespaces: { prod: { labels: { 'istio.io/dataplane-mode': 'ambient' } } },
      pods: {
        'prod/web-1': { serviceAccount: 'web', labels: { app: 'web' } },
        'prod/db-1': { serviceAccount: 'db', labels: { app: 'db' } },
      },
      peerAuthentications: [
        {
          metadata: { namespace: 'prod', name: 'db-strict' },
          spec: { selector: { matchLabels: { app: 'db' } }, mtls: { mode: 'STRICT' } },
        },
      ],
    };
  });

  it('ADD: the pod gets its interface from bridge and weft-node gets the pod', async () => {
    const add = await chain('ADD', conflist, podNs, 'web-1', 'uid-web-1');
    expect(add.ok, JSON.stringify(add.runs)).toBe(true);
    const ip = add.result?.ips[0]?.address.split('/')[0] ?? '';
    expect(ip).toMatch(/^10\.199\.7\./);
    // The address really is on eth0 inside the pod's netns.
    expect(execFileSync('ip', ['-n', podNs, '-4', 'addr', 'show', 'eth0'], { encoding: 'utf8' })).toContain(
      ip,
    );
    expect(messages).toEqual([
      {
        type: 'add',
        pod: {
          uid: 'uid-web-1',
          name: 'web-1',
          namespace: 'prod',
          serviceAccount: 'web',
          netnsPath: `/var/run/netns/${podNs}`,
          ips: [ip],
          labels: { app: 'web' },
        },
      },
    ]);
    expect(netnsSeen).toEqual([true]);
    const log = readFileSync(join(dir, 'cni.log'), 'utf8');
    expect(log).toContain('pod handed to weft-node');
    console.log(
      `plugin start+run times (ms): bridge ${add.runs[0]?.ms.toFixed(0)}, weft-cni (single executable) ${add.runs[1]?.ms.toFixed(0)}`,
    );
  });

  it('DEL (reverse order): weft-node is told, the veth and the address are released', async () => {
    messages.length = 0;
    const del = await chain('DEL', conflist, podNs, 'web-1', 'uid-web-1');
    expect(del.ok, JSON.stringify(del.runs)).toBe(true);
    expect(messages).toEqual([{ type: 'del', uid: 'uid-web-1' }]);
    expect(execFileSync('ip', ['-n', podNs, 'link', 'show'], { encoding: 'utf8' })).not.toContain('eth0');
    const leases = readdirSync(join(dir, 'ipam'), { recursive: true }).map(String);
    expect(leases.filter((f) => /10\.199\.7\./.test(f))).toEqual([]);
  });

  it('a STRICT pod is not started while weft-node is down (fail closed, CNI code 11); DEL still works', async () => {
    await new Promise<void>((r) => server?.close(() => r()));
    server = undefined;
    const add = await chain('ADD', conflist, podNs2, 'db-1', 'uid-db-1');
    expect(add.ok).toBe(false);
    expect(add.error?.code).toBe(11);
    expect(add.error?.msg).toContain('WEFT_CNI_AGENT_UNREACHABLE');
    // The runtime cleans up the failed sandbox with DEL through the whole chain.
    const del = await chain('DEL', conflist, podNs2, 'db-1', 'uid-db-1');
    expect(del.ok).toBe(true);
    expect(execFileSync('ip', ['-n', podNs2, 'link', 'show'], { encoding: 'utf8' })).not.toContain('eth0');
  });

  it('a PERMISSIVE pod starts uncaptured while weft-node is down (fail open, logged)', async () => {
    const add = await chain('ADD', conflist, podNs2, 'web-1', 'uid-web-2');
    expect(add.ok).toBe(true);
    expect(readFileSync(join(dir, 'cni.log'), 'utf8')).toContain('failing open');
    expect((await chain('DEL', conflist, podNs2, 'web-1', 'uid-web-2')).ok).toBe(true);
  });

  it('weft-cni uninstall restores the primary conflist', () => {
    const bin = join(repo, 'packages/cni/bin/weft-cni.mjs');
    execFileSync(process.execPath, [
      bin,
      'uninstall',
      '--cni-bin-dir',
      join(dir, 'bin'),
      '--cni-conf-dir',
      join(dir, 'net.d'),
    ]);
    const list = JSON.parse(readFileSync(join(dir, 'net.d', '10-weft-e2e.conflist'), 'utf8')) as Conflist;
    expect(list.plugins.map((p) => p.type)).toEqual(['bridge']);
    expect(existsSync(join(dir, 'bin', 'weft-cni'))).toBe(false);
  });
});
