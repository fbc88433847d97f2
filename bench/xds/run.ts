/**
 * Discovery at scale: weft-pilot (a real child process watching a config directory) serving N real xDS
 * clients in this process.
 *
 * 1. full sync: the whole mesh (10,000 pods, 2,000 services, 1,000 policies) lands in the watched directory
 *    at once; time until every client holds all of it.
 * 2. single update: one pod's IP changes in its file (editor-style rename); time until every client sees it.
 *    Includes pilot's 100 ms debounce, as a user would see it.
 * 3. memory: pilot's RSS after the sync, and the clients' heap per client.
 * CPU time is reported too (pilot from /proc, the clients from this process): it depends far less on what
 * else the machine runs than wall time does.
 * Baseline measured in the same run: the same pipeline in-process with no files, sockets or gRPC (parse +
 * validate + translate + encode once, decode once per client): the floor the full sync is compared to.
 *
 * `--profile <dir>`: CPU profile of pilot into <dir>.
 * `--quick`: 1,000 pods / 200 services / 100 policies, 3 clients, 5 updates (the test suite runs it).
 * Prints one JSON document, then a summary line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileConfig, parseFiles } from '@weft/config';
import { freePort, waitFor } from '@weft/testkit';
import { decodeResource, stateToResources, TYPE_ADDRESS, XdsClient } from '@weft/xds';
import { type MeshSize, podIp, podsFile, writeMesh } from './fixture.js';

const quick = process.argv.includes('--quick');
const size: MeshSize = quick
  ? { pods: 1_000, services: 200, policies: 100, namespaces: 20, nodes: 10 }
  : { pods: 10_000, services: 2_000, policies: 1_000, namespaces: 20, nodes: 100 };
const clientCount = quick ? 3 : 10;
const updates = quick ? 5 : 40;
/** `--profile <dir>`: write a CPU profile of pilot (the child) to <dir> (node --cpu-prof). */
const profileAt = process.argv.indexOf('--profile');
const profileDir = profileAt === -1 ? undefined : process.argv[profileAt + 1];
const root = join(import.meta.dirname, '..', '..');

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

/** CPU time (user + system) a process has used so far, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command name: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/** Resolves when `check` holds for every client, re-checked on each store change. */
function allClients(
  clients: XdsClient[],
  check: (c: XdsClient) => boolean,
  timeoutMs: number,
  what = 'clients',
): Promise<number> {
  return new Promise((resolve, reject) => {
    const unsubs: (() => void)[] = [];
    const done = () => {
      if (!clients.every(check)) return;
      for (const u of unsubs) u();
      clearTimeout(timer);
      resolve(performance.now());
    };
    const timer = setTimeout(() => {
      for (const u of unsubs) u();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    for (const c of clients) unsubs.push(c.store.onChange(done));
    done();
  });
}

/** The in-process floor: the same work with no files, sockets or gRPC. */
function baseline(srcDir: string): {
  compileMs: number;
  encodeMs: number;
  decodeMsPerClient: number;
  totalMs: number;
} {
  const files = readdirSync(srcDir).map((f) => ({ path: f, text: readFileSync(join(srcDir, f), 'utf8') }));
  const t0 = performance.now();
  const parsed = parseFiles(files);
  const compiled = compileConfig(parsed.objects, {}, parsed.problems);
  const t1 = performance.now();
  const resources = stateToResources(compiled.translation.state);
  const t2 = performance.now();
  let n = 0;
  for (const [typeUrl, byName] of resources)
    for (const r of byName.values()) if (decodeResource(typeUrl, r.body)) n++;
  const t3 = performance.now();
  if (n === 0) throw new Error('baseline decoded nothing');
  const decodeMsPerClient = t3 - t2;
  return {
    compileMs: Math.round(t1 - t0),
    encodeMs: Math.round(t2 - t1),
    decodeMsPerClient: Math.round(decodeMsPerClient),
    totalMs: Math.round(t3 - t0 + decodeMsPerClient * (clientCount - 1)),
  };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'weft-bench-xds-'));
  const src = join(work, 'mesh');
  const configDir = join(work, 'config');
  mkdirSync(configDir);
  writeMesh(src, size);
  let pilot: ChildProcess | undefined;
  const clients: XdsClient[] = [];
  try {
    const floor = baseline(src);
    const xdsPort = await freePort();
    const readinessPort = await freePort();
    const metricsPort = await freePort();
    pilot = spawn(
      process.execPath,
      [
        ...(profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir]),
        join(root, 'packages/pilot/bin/weft-pilot.mjs'),
        '--config-dir',
        configDir,
        '--xds-port',
        `${xdsPort}`,
        '--host',
        '127.0.0.1',
        '--no-ca',
        '--metrics-port',
        `${metricsPort}`,
        '--admin-port',
        'off',
        '--readiness-port',
        `${readinessPort}`,
      ],
      {
        env: { ...process.env, LOG_LEVEL: 'warn', LOG_FORMAT: 'json' },
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    const child = pilot;
    // Never leave pilot running, whatever ends this process.
    process.once('exit', () => child.kill('SIGKILL'));
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`weft-pilot exited with ${child.exitCode}`);
        try {
          return (await fetch(`http://127.0.0.1:${readinessPort}/healthz/ready`)).status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, what: 'weft-pilot readiness' },
    );
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < clientCount; i++) {
      const c = new XdsClient({
        address: `127.0.0.1:${xdsPort}`,
        node: { id: `bench-${i}`, nodeName: `node${i}`, role: 'node' },
      });
      c.start();
      clients.push(c);
    }
    await Promise.all(clients.map((c) => c.whenSynced()));

    // 1. Full sync: move every file into the watched directory at once.
    const pilotCpu0 = cpuMs(child.pid ?? 0);
    const clientCpu0 = ownCpuMs();
    const t0 = performance.now();
    for (const f of readdirSync(src)) renameSync(join(src, f), join(configDir, f));
    const full = size.pods + size.services;
    // When each client first held everything: shows how the sync spreads over the clients.
    const clientSyncedAt = new Map<XdsClient, number>();
    const tSynced = await allClients(
      clients,
      (c) => {
        if (clientSyncedAt.has(c)) return true;
        if (c.store.size(TYPE_ADDRESS) !== full || c.store.authorizations.size !== size.policies)
          return false;
        clientSyncedAt.set(c, Math.round(performance.now() - t0));
        return true;
      },
      60_000,
    );
    const fullSyncMs = Math.round(tSynced - t0);
    // CPU spent on the full sync: pilot (parse, translate, encode, push) and this process (10 clients decoding).
    const fullSyncPilotCpuMs = cpuMs(child.pid ?? 0) - pilotCpu0;
    const fullSyncClientCpuMs = Math.round(ownCpuMs() - clientCpu0);
    const pilotRssMiB = rssMiB(child.pid ?? 0);
    const clientHeapMiB = mib((process.memoryUsage().heapUsed - heapBefore) / clientCount);

    // 2. Single updates: one pod's IP, rewritten the way editors save (temp file + rename).
    const latencies: number[] = [];
    const pilotCpu1 = cpuMs(child.pid ?? 0);
    for (let u = 0; u < updates; u++) {
      const podIndex = (u * 7919) % size.pods;
      const ns = podIndex % size.namespaces;
      const ip = `10.200.${Math.floor(u / 256)}.${u % 256}`;
      const file = join(configDir, `10-pods-ns${ns}.yaml`);
      writeFileSync(`${file}.tmp`, podsFile(ns, size, { pod: podIndex, ip }));
      const start = performance.now();
      renameSync(`${file}.tmp`, file);
      const end = await allClients(
        clients,
        (c) => c.store.workloadByIp(ip) !== undefined && c.store.workloadByIp(podIp(podIndex)) === undefined,
        10_000,
        `update ${u}`,
      );
      latencies.push(end - start);
      // Put it back so the next update starts from the generated state.
      writeFileSync(`${file}.tmp`, podsFile(ns, size));
      renameSync(`${file}.tmp`, file);
      await allClients(
        clients,
        (c) => c.store.workloadByIp(podIp(podIndex)) !== undefined,
        10_000,
        `restore ${u}`,
      );
    }
    // Each sample is an edit and its restore: two pushes.
    const updatePilotCpuMs = Math.round((cpuMs(child.pid ?? 0) - pilotCpu1) / (2 * updates));
    latencies.sort((a, b) => a - b);
    const p50 = Math.round(percentile(latencies, 50));
    const p99 = Math.round(percentile(latencies, 99));

    // pilot's own view: from the directory event to the push (debounce included), averaged over every push.
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const sum = Number(/pilot_proxy_convergence_time_sum\{[^}]*\} ([0-9.e+-]+)/.exec(metrics)?.[1] ?? 0);
    const count = Number(/pilot_proxy_convergence_time_count\{[^}]*\} ([0-9.e+-]+)/.exec(metrics)?.[1] ?? 0);
    const pilotConvergenceAvgMs = count === 0 ? 0 : Math.round((sum / count) * 1000);
    const out = {
      benchmark: 'xds',
      quick,
      size,
      clients: clientCount,
      fullSync: {
        ms: fullSyncMs,
        targetMs: 2000,
        baselineMs: floor.totalMs,
        ratioToBaseline: Math.round((fullSyncMs / Math.max(1, floor.totalMs)) * 100) / 100,
        pilotCpuMs: fullSyncPilotCpuMs,
        clientsCpuMs: fullSyncClientCpuMs,
        clientSyncedMs: [...clientSyncedAt.values()].sort((a, b) => a - b),
      },
      update: {
        samples: latencies.length,
        p50Ms: p50,
        p99Ms: p99,
        maxMs: Math.round(latencies.at(-1) ?? 0),
        samplesMs: latencies.map((l) => Math.round(l)),
        pilotCpuMsPerPush: updatePilotCpuMs,
        targetP99Ms: 200,
        debounceMs: 100,
      },
      memory: { pilotRssMiB, clientHeapMiBEach: clientHeapMiB },
      pilot: { pushes: count, convergenceAvgMs: pilotConvergenceAvgMs },
      loadAverage: (await import('node:os')).loadavg().map((l) => Math.round(l * 10) / 10),
      baseline: floor,
      node: process.version,
    };
    console.log(JSON.stringify(out, null, 2));
    console.log(
      `xds: full sync ${size.pods}/${size.services}/${size.policies} → ${clientCount} clients ${fullSyncMs} ms (target ≤ 2000, ${out.fullSync.ratioToBaseline}x the in-process floor ${floor.totalMs} ms); ` +
        `update p50 ${p50} ms p99 ${p99} ms (target ≤ 200, incl. 100 ms debounce); pilot RSS ${pilotRssMiB} MiB, client heap ${clientHeapMiB} MiB each; ` +
        `CPU: full sync pilot ${fullSyncPilotCpuMs} ms + clients ${fullSyncClientCpuMs} ms, pilot ${updatePilotCpuMs} ms per update push`,
    );
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    if (pilot !== undefined && pilot.exitCode === null) {
      const exited = new Promise((resolve) => pilot?.once('exit', resolve));
      pilot.kill('SIGTERM');
      const t = setTimeout(() => pilot?.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
