/**
 * bench/l4-path: the in-pod L4 data path of weft-node between two network-namespace nodes, next to the
 * same links without a mesh and a stunnel mTLS pair on the same path, measured in the same run.
 *
 *   node --import tsx bench/l4-path/run.ts [--quick] [--only throughput,load,idle] [--prof <dir>]
 *     [--node-flags "<agent node flags>"]
 *
 * Topology (testkit): node1 and node2 are router namespaces joined by a link; pods hang off each node.
 * - mesh: client (node1) → captured → weft-node(node1) 15001 → HBONE mTLS → weft-node(node2) 15008 → server
 *   (node2); pilot serves discovery and the CA; both agents are real processes.
 * - none: plainclient (node1) → plainserver (node2), same veths and routers, no capture.
 * - stunnel: plainclient → stunnel client (plainclient ns) → TLS 1.3 mTLS → stunnel server (plainserver ns)
 *   → app on 127.0.0.1 there.
 * Measures: iperf3 throughput with 1 and 8 connections; fixed 1,000 req/s of 1 KB over 10 connections
 * (p50/p90/p99 added by the mesh over none), sent in bursts of ten every 10 ms and, separately, paced one
 * per millisecond; agent CPU-seconds and RSS during that load; agent RSS with many idle tunnels. Prints one JSON document, then a summary line.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { defaultWorkerThreads } from '@weft/node-agent';
import { commandsSkipReason, rootSkipReason, spawnApp, TestCa } from '@weft/testkit';
import { Mesh } from '../../test/e2e/node-agent/harness.js';
import { EchoLoad, idleTunnels, type LatencyRun, summarize } from './load.js';

const run = promisify(execFile);
const quick = process.argv.includes('--quick');
const IPERF_SECONDS = quick ? 1 : 5;
const LOAD_SECONDS = quick ? 2 : 10;
const TUNNELS = quick ? 200 : 10_000;
/** The load phase alternates no-mesh and mesh slices this many times each. */
const LOAD_SLICES = quick ? 2 : 10;
/** Data-plane worker threads per agent: E2E_WORKER_THREADS when set, else weft-node's own default. */
const WORKERS_ENV = process.env.E2E_WORKER_THREADS ?? '';
const WORKERS = WORKERS_ENV === '' ? defaultWorkerThreads() : Number(WORKERS_ENV);
/** `--only a,b`: run only these phases (throughput, load, idle); all by default. */
const ONLY = argValue('--only')?.split(',');
const phase = (name: 'throughput' | 'load' | 'idle') => ONLY === undefined || ONLY.includes(name);
/** `--prof <dir>`: the agents run with --cpu-prof (one .cpuprofile per thread, written at exit) into <dir>. */
const PROF = argValue('--prof');
/** `--node-flags "<flags>"`: extra node/V8 flags for the agents (experiments, e.g. GC settings). */
const NODE_FLAGS =
  argValue('--node-flags')
    ?.split(' ')
    .filter((f) => f !== '') ?? [];

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i === -1 ? undefined : process.argv[i + 1];
}

const skip = rootSkipReason() ?? commandsSkipReason(['iperf3', 'stunnel4', 'nsenter', 'iptables-restore']);
if (skip !== undefined) {
  process.stdout.write(`${JSON.stringify({ quick, skipped: skip })}\nl4-path: skipped: ${skip}\n`);
  process.exit(0);
}

/** CPU seconds (user+system) and RSS bytes of a process, from /proc. */
function procStats(pid: number): { cpu: number; sys: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpu: ticks / 100, sys: Number(fields[12]) / 100, rss: rssKb * 1024 };
}

async function iperf(
  mesh: Mesh,
  fromNs: string,
  host: string,
  port: number,
  parallel: number,
): Promise<number> {
  const { stdout } = await run(
    'ip',
    [
      'netns',
      'exec',
      fromNs,
      'iperf3',
      '-c',
      host,
      '-p',
      String(port),
      '-t',
      String(IPERF_SECONDS),
      '-P',
      String(parallel),
      '-J',
    ],
    { timeout: (IPERF_SECONDS + 30) * 1000, maxBuffer: 32 * 1024 * 1024 },
  );
  void mesh;
  const json = JSON.parse(stdout) as { end?: { sum_received?: { bits_per_second?: number } } };
  return Math.round((json.end?.sum_received?.bits_per_second ?? 0) / 8 / 1e6);
}

async function main(): Promise<void> {
  const mesh = await Mesh.create([
    { name: 'client', namespace: 'bench', sa: 'client', node: 'node1' },
    { name: 'server', namespace: 'bench', sa: 'server', node: 'node2' },
  ]);
  const results: Record<string, unknown> = {};
  try {
    const plainclient = await mesh.topo.addPod('node1', { name: 'plainclient' });
    const plainserver = await mesh.topo.addPod('node2', { name: 'plainserver' });
    await mesh.startPilot();
    for (const pod of ['server', 'plainserver']) {
      await mesh.startApp(pod, [8080]);
      mesh.apps.push(
        await spawnApp({
          name: `iperf3-${pod}`,
          command: 'iperf3',
          args: ['-s', '-p', '5201', '--forceflush'],
          netns: mesh.pod(pod).netns,
          ready: { logLine: /Server listening/ },
        }),
      );
    }
    // stunnel pair with certificates from a throwaway CA; TLS 1.3, client certificates required and verified.
    const ca = await TestCa.create();
    const srv = await ca.issue({ ipAddresses: [plainserver.ip], usages: ['server'] });
    const cli = await ca.issue({ commonName: 'bench-client', usages: ['client'] });
    const files: Record<string, string> = {
      'ca.pem': ca.rootPem,
      'srv.pem': srv.chainPem,
      'srv.key': srv.keyPem,
      'cli.pem': cli.chainPem,
      'cli.key': cli.keyPem,
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(mesh.dir, name), text);
    const conf = (name: string, body: string) => {
      const path = join(mesh.dir, name);
      writeFileSync(path, `foreground = yes\npid =\nsyslog = no\ndebug = 5\n${body}`);
      return path;
    };
    const serverConf = conf(
      'stunnel-server.conf',
      `[s]\naccept = 0.0.0.0:7443\nconnect = 127.0.0.1:5201\ncert = ${join(mesh.dir, 'srv.pem')}\nkey = ${join(mesh.dir, 'srv.key')}\nCAfile = ${join(mesh.dir, 'ca.pem')}\nverifyChain = yes\nsslVersionMin = TLSv1.3\n`,
    );
    const clientConf = conf(
      'stunnel-client.conf',
      `[c]\nclient = yes\naccept = 127.0.0.1:7000\nconnect = ${plainserver.ip}:7443\ncert = ${join(mesh.dir, 'cli.pem')}\nkey = ${join(mesh.dir, 'cli.key')}\nCAfile = ${join(mesh.dir, 'ca.pem')}\nverifyChain = yes\nsslVersionMin = TLSv1.3\n`,
    );
    for (const [ns, path] of [
      [plainserver.netns, serverConf],
      [plainclient.netns, clientConf],
    ] as const) {
      mesh.apps.push(
        await spawnApp({
          name: 'stunnel',
          command: 'stunnel4',
          args: [path],
          netns: ns,
          ready: { logLine: /Configuration successful/ },
        }),
      );
    }
    for (const node of ['node1', 'node2'] as const) {
      const prof = PROF === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROF}`];
      // (An empty WORKER_THREADS is weft-node's default; the harness alone would pass 2.)
      await mesh.startAgent(node, { LOG_LEVEL: 'warn', WORKER_THREADS: WORKERS_ENV }, [
        '--expose-gc',
        ...prof,
        ...NODE_FLAGS,
      ]);
      await mesh.enroll(node);
    }
    const agents = ['node1', 'node2'].map((n) => mesh.agents.get(n)?.app.process.pid as number);

    if (phase('throughput')) {
      // Throughput, interleaved per connection count.
      const throughput: Record<string, Record<string, number>> = {};
      for (const parallel of [1, 8]) {
        throughput[`conns${parallel}`] = {
          none: await iperf(mesh, plainclient.netns, plainserver.ip, 5201, parallel),
          mesh: await iperf(mesh, mesh.pod('client').netns, mesh.pod('server').ip, 5201, parallel),
          stunnel: await iperf(mesh, plainclient.netns, '127.0.0.1', 7000, parallel),
        };
      }
      results.throughputMBps = throughput;
    }

    if (phase('load')) {
      // Fixed-rate latency, and the agents' CPU and memory under it: none and mesh in alternating slices
      // over connections kept open, so both paths see the same moments of a shared machine (and tunnel
      // setup stays out of the CPU figures).
      const load = { rate: 1000, size: 1024, seconds: LOAD_SECONDS / LOAD_SLICES };
      const plainLoad = await EchoLoad.open(plainclient.netnsPath, plainserver.ip, 8080, 10);
      const meshLoad = await EchoLoad.open(mesh.pod('client').netnsPath, mesh.pod('server').ip, 8080, 10);
      const noneRuns: LatencyRun[] = [];
      const meshRuns: LatencyRun[] = [];
      // The same rate paced one request per millisecond instead of bursts of ten every 10 ms.
      const paced = { ...load, tickMs: 1 };
      const nonePacedRuns: LatencyRun[] = [];
      const meshPacedRuns: LatencyRun[] = [];
      let seconds = 0;
      let pacedSeconds = 0;
      const pacedCpu = [0, 0];
      const cpu = [0, 0];
      const sys = [0, 0];
      let after = agents.map(procStats);
      const window0 = process.hrtime.bigint() / 1000n;
      process.stderr.write(`l4-path: mesh load starts, agents ${agents.join(' ')}\n`);
      for (let slice = 0; slice < LOAD_SLICES; slice++) {
        noneRuns.push(await plainLoad.run(load));
        const before = agents.map(procStats);
        const t0 = performance.now();
        meshRuns.push(await meshLoad.run(load));
        seconds += (performance.now() - t0) / 1000;
        after = agents.map(procStats);
        for (const i of [0, 1]) {
          cpu[i] = (cpu[i] ?? 0) + (after[i]?.cpu ?? 0) - (before[i]?.cpu ?? 0);
          sys[i] = (sys[i] ?? 0) + (after[i]?.sys ?? 0) - (before[i]?.sys ?? 0);
        }
        nonePacedRuns.push(await plainLoad.run(paced));
        const pacedBefore = agents.map(procStats);
        const t1 = performance.now();
        meshPacedRuns.push(await meshLoad.run(paced));
        pacedSeconds += (performance.now() - t1) / 1000;
        const pacedAfter = agents.map(procStats);
        for (const i of [0, 1])
          pacedCpu[i] = (pacedCpu[i] ?? 0) + (pacedAfter[i]?.cpu ?? 0) - (pacedBefore[i]?.cpu ?? 0);
      }
      // CLOCK_MONOTONIC in µs, the clock of V8's profile timestamps: lets a --prof reader cut this window
      // (it includes the no-mesh slices, when the agents idle).
      if (PROF !== undefined)
        process.stderr.write(`l4-path: load window ${window0} ${process.hrtime.bigint() / 1000n} (µs)\n`);
      plainLoad.close();
      meshLoad.close();
      for (const i of [0, 1]) {
        cpu[i] = (cpu[i] ?? 0) / seconds;
        sys[i] = (sys[i] ?? 0) / seconds;
      }
      const latency = (noneOf: LatencyRun[], meshOf: LatencyRun[]) => {
        const none = summarize(noneOf);
        const meshLat = summarize(meshOf);
        return {
          none,
          mesh: meshLat,
          addedUs: {
            p50: meshLat.p50us - none.p50us,
            p90: meshLat.p90us - none.p90us,
            p99: meshLat.p99us - none.p99us,
          },
        };
      };
      // Bursts: ten requests at once every 10 ms (one per connection).
      results.latency = latency(noneRuns, meshRuns);
      results.latencyPaced = {
        ...latency(nonePacedRuns, meshPacedRuns),
        agentsVcpu: {
          node1: round((pacedCpu[0] ?? 0) / pacedSeconds),
          node2: round((pacedCpu[1] ?? 0) / pacedSeconds),
        },
      };
      results.agentsAt1000rps = {
        vcpu: { node1: round(cpu[0]), node2: round(cpu[1]), total: round((cpu[0] ?? 0) + (cpu[1] ?? 0)) },
        /** The kernel's part of vcpu (system time: syscalls, and the TCP stack work done in them). */
        vcpuSystem: { node1: round(sys[0]), node2: round(sys[1]) },
        rssMB: { node1: mb(after[0]?.rss), node2: mb(after[1]?.rss) },
      };
    }

    if (phase('idle')) {
      // Idle tunnels: live memory, with a full GC in every agent thread before each reading.
      const gc = async () => {
        for (const node of ['node1', 'node2']) {
          const port = mesh.agents.get(node)?.adminPort;
          await (await fetch(`http://127.0.0.1:${port}/debug/gc`, { method: 'POST' })).text();
        }
      };
      const heap = async () =>
        Promise.all(
          ['node1', 'node2'].map(async (node) => {
            const port = mesh.agents.get(node)?.adminPort;
            const m = (await (await fetch(`http://127.0.0.1:${port}/debug/memory`)).json()) as {
              heapUsed: number;
              external: number;
            };
            return m.heapUsed + m.external;
          }),
        );
      await gc();
      const idleBefore = agents.map(procStats);
      const heapBefore = await heap();
      // Two halves, read after each: the second half's growth is the marginal cost of a tunnel, without
      // the one-time growth the first burst causes (V8's young generation and pools reaching their working size).
      const first = await idleTunnels(mesh.pod('client').netnsPath, mesh.pod('server').ip, 8080, TUNNELS / 2);
      await gc();
      const idleMid = agents.map(procStats);
      const heapMid = await heap();
      const second = await idleTunnels(
        mesh.pod('client').netnsPath,
        mesh.pod('server').ip,
        8080,
        TUNNELS / 2,
      );
      await gc();
      const idleAfter = agents.map(procStats);
      const heapAfter = await heap();
      const openMid = first.sockets.length;
      const open = openMid + second.sockets.length;
      const per = (after: number | undefined, before: number | undefined, n: number) =>
        Math.round(((after ?? 0) - (before ?? 0)) / Math.max(1, n));
      results.idleTunnels = {
        requested: TUNNELS,
        open,
        failed: first.failed + second.failed,
        rssMB: { node1: mb(idleAfter[0]?.rss), node2: mb(idleAfter[1]?.rss) },
        // RSS growth from no tunnels to all of them, over their number.
        bytesPerTunnel: {
          node1: per(idleAfter[0]?.rss, idleBefore[0]?.rss, open),
          node2: per(idleAfter[1]?.rss, idleBefore[1]?.rss, open),
        },
        // RSS growth of the second half only, over its number.
        marginalBytesPerTunnel: {
          node1: per(idleAfter[0]?.rss, idleMid[0]?.rss, open - openMid),
          node2: per(idleAfter[1]?.rss, idleMid[1]?.rss, open - openMid),
        },
        // V8 heap used + external buffers over every agent thread, after a forced GC: the live part.
        heapBytesPerTunnel: {
          node1: per(heapAfter[0], heapBefore[0], open),
          node2: per(heapAfter[1], heapBefore[1], open),
        },
        marginalHeapBytesPerTunnel: {
          node1: per(heapAfter[0], heapMid[0], open - openMid),
          node2: per(heapAfter[1], heapMid[1], open - openMid),
        },
      };
      first.close();
      second.close();
    }
  } finally {
    await mesh.destroy();
  }
  const t = (results.throughputMBps ?? {}) as Record<string, Record<string, number>>;
  const l = results.latency as { addedUs: { p50: number; p99: number } } | undefined;
  const lp = results.latencyPaced as { addedUs: { p50: number; p99: number } } | undefined;
  const c = results.agentsAt1000rps as { vcpu: { total: number } } | undefined;
  const i = results.idleTunnels as
    | {
        open: number;
        bytesPerTunnel: { node1: number; node2: number };
        marginalBytesPerTunnel: { node1: number; node2: number };
        heapBytesPerTunnel: { node1: number; node2: number };
        marginalHeapBytesPerTunnel: { node1: number; node2: number };
      }
    | undefined;
  process.stdout.write(`${JSON.stringify({ quick, workerThreads: WORKERS, results }, null, 2)}\n`);
  const ratio = (a: number | undefined, b: number | undefined) => ((a ?? 0) / Math.max(1, b ?? 0)).toFixed(2);
  process.stdout.write(
    `l4-path: 1 conn mesh ${t.conns1?.mesh} MB/s (x${ratio(t.conns1?.mesh, t.conns1?.stunnel)} stunnel, x${ratio(t.conns1?.mesh, t.conns1?.none)} none); ` +
      `8 conns mesh ${t.conns8?.mesh} MB/s (x${ratio(t.conns8?.mesh, t.conns8?.stunnel)} stunnel); ` +
      `1000 rps 1 KB added p50 ${l?.addedUs.p50} us p99 ${l?.addedUs.p99} us ` +
      `(paced: p50 ${lp?.addedUs.p50} us p99 ${lp?.addedUs.p99} us); agents ${c?.vcpu.total} vCPU; ` +
      `${i?.open} idle tunnels ${i?.bytesPerTunnel.node1}+${i?.bytesPerTunnel.node2} B/tunnel RSS, ` +
      `${i?.heapBytesPerTunnel.node1}+${i?.heapBytesPerTunnel.node2} B/tunnel heap ` +
      `(second half: ${i?.marginalBytesPerTunnel.node1}+${i?.marginalBytesPerTunnel.node2} B RSS, ` +
      `${i?.marginalHeapBytesPerTunnel.node1}+${i?.marginalHeapBytesPerTunnel.node2} B heap)\n`,
  );
}

function round(n: number | undefined): number {
  return Math.round((n ?? 0) * 1000) / 1000;
}
function mb(n: number | undefined): number {
  return Math.round(((n ?? 0) / 1024 / 1024) * 10) / 10;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `l4-path failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
