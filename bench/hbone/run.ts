/**
 * bench/hbone: a Weft HBONE tunnel pair on loopback next to direct TCP, a stunnel4 mTLS pair and a
 * haproxy mTLS pair, all measured in the same run on the same machine.
 *
 *   node --import tsx bench/hbone/run.ts [--quick]
 *
 * Every pair is A (plain TCP in, mutual TLS out) → B (mutual TLS in, TCP out), each side its own process:
 *   weft:    bench/hbone/pair.ts a → HBONE (HTTP/2 CONNECT, pooled) → pair.ts b
 *   stunnel: stunnel4 client → TLS 1.3 → stunnel4 server (TCP_NODELAY both sides)
 *   haproxy: haproxy (nbthread 1) → TLS 1.3 → haproxy (nbthread 1)
 * Measures (1) iperf3 throughput with 1 and 8 connections and the CPU-seconds per GiB of A+B,
 * (2) 100-byte ping-pong round trips through the pair (p50/p99), (3) new connections per second
 * (connect, 1-byte echo, close; 16 in flight) through each pair, and HBONE tunnels opened from this process
 * straight to B (100 in flight pooled, 16 unpooled), with B dialing the echo or echoing in-process.
 * Prints one JSON document, then a summary line.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createHbonePool, type HboneCredentials, type HbonePool, staticCredentials } from '@weft/hbone';
import { freePort, hasCommand, TestCa, waitFor } from '@weft/testkit';

const exec = promisify(execFile);
const quick = process.argv.includes('--quick');
const root = join(import.meta.dirname, '..', '..');
const SECONDS = quick ? 1 : 5;
const PINGS = quick ? 200 : 10_000;
const NEW_CONNS = quick ? 60 : 3000;
const CONCURRENCY = 16;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

interface Pair {
  name: string;
  iperfPort: number;
  echoPort: number;
  pids: number[];
}

const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'bench-hbone-'));
function cleanup(): void {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
// A test timeout sends SIGTERM: leave no proxy or iperf3 behind.
process.on('SIGTERM', () => process.exit(143));

async function listening(port: number): Promise<void> {
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
    { timeoutMs: 15_000, what: `port ${port}` },
  );
}

function start(cmd: string, args: string[], waitForLine?: string): Promise<ChildProcess> {
  // stdin is a pipe so pair.ts notices when this process dies (it exits when the pipe closes).
  const child = spawn(cmd, args, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  if (waitForLine === undefined) return Promise.resolve(child);
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes(waitForLine)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${err}`)));
  });
}

/** user+system CPU seconds of a process so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}
const totalCpu = (pids: number[]): number => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);

async function iperf(pair: Pair, streams: number): Promise<{ mbps: number; cpuPerGiB: number | null }> {
  for (let attempt = 1; ; attempt++) {
    const before = totalCpu(pair.pids);
    const { stdout } = await exec(
      'iperf3',
      ['-c', '127.0.0.1', '-p', String(pair.iperfPort), '-t', String(SECONDS), '-P', String(streams), '-J'],
      { maxBuffer: 64 * 1024 * 1024, timeout: (SECONDS + 30) * 1000 },
    ).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '{}' }));
    const cpu = totalCpu(pair.pids) - before;
    const doc = JSON.parse(stdout) as {
      error?: string;
      end?: { sum_received?: { bytes: number; bits_per_second: number } };
    };
    const end = doc.end?.sum_received;
    if (end === undefined) {
      // iperf3's server is single-test and sometimes still busy with the previous one: retry a few times.
      if (attempt < 4) {
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      throw new Error(`iperf3 through ${pair.name} failed: ${doc.error ?? stdout.slice(0, 200)}`);
    }
    return {
      mbps: Math.round(end.bits_per_second / 8 / 1e6),
      cpuPerGiB: pair.pids.length === 0 ? null : Number((cpu / (end.bytes / 2 ** 30)).toFixed(2)),
    };
  }
}

async function pingPong(port: number): Promise<{ p50us: number; p99us: number; opsPerSec: number }> {
  const s = connect({ port, host: '127.0.0.1', noDelay: true });
  await once(s, 'connect');
  const msg = Buffer.alloc(100, 7);
  const rtt = async (): Promise<number> => {
    const t0 = process.hrtime.bigint();
    s.write(msg);
    let got = 0;
    while (got < msg.length) {
      const [d] = (await once(s, 'data')) as [Buffer];
      got += d.length;
    }
    return Number(process.hrtime.bigint() - t0) / 1000;
  };
  for (let i = 0; i < 100; i++) await rtt();
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < PINGS; i++) samples.push(await rtt());
  const seconds = (performance.now() - started) / 1000;
  s.destroy();
  samples.sort((a, b) => a - b);
  const at = (q: number): number =>
    Math.round(samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0);
  return { p50us: at(0.5), p99us: at(0.99), opsPerSec: Math.round(PINGS / seconds) };
}

async function newConnections(port: number): Promise<{ perSec: number; failed: number }> {
  let next = 0;
  let failed = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const s: Socket = connect({ port, host: '127.0.0.1', noDelay: true });
      const fail = (): void => {
        failed++;
        s.destroy();
        resolve();
      };
      s.once('error', fail);
      s.once('connect', () => s.write('x'));
      s.once('data', () => {
        s.end();
        s.destroy();
        resolve();
      });
    });
  const worker = async (): Promise<void> => {
    while (next < NEW_CONNS) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: 4 }, () => one())); // warm-up (pool, TLS sessions)
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { perSec: Math.round(NEW_CONNS / ((performance.now() - started) / 1000)), failed };
}

/**
 * HBONE tunnels opened from this process straight to B (open → 1-byte echo → close), `inFlight` at a
 * time: on one pooled connection, or with a new TLS connection per tunnel.
 */
async function tunnelRate(
  credentials: HboneCredentials,
  bPort: number,
  echoPort: number,
  pooled: boolean,
  total: number,
  inFlight: number,
): Promise<{ perSec: number; failed: number; inFlight: number }> {
  const shared = createHbonePool({ credentials });
  let next = 0;
  let failed = 0;
  const one = async (): Promise<void> => {
    const pool: HbonePool = pooled ? shared : createHbonePool({ credentials });
    try {
      const t = await pool.open({
        nextHop: { host: '127.0.0.1', port: bPort },
        authority: `127.0.0.1:${echoPort}`,
        expectedIdentities: ['spiffe://cluster.local/ns/bench/sa/server'],
      });
      t.stream.end('x');
      t.stream.resume();
      await once(t.stream, 'end');
    } catch {
      failed++;
    } finally {
      if (!pooled) await pool.close();
    }
  };
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: 4 }, one)); // warm-up: the pooled connection exists before timing
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const perSec = Math.round(total / ((performance.now() - started) / 1000));
  await shared.close();
  return { perSec, failed, inFlight };
}

async function main(): Promise<void> {
  const missing = ['iperf3', 'stunnel4', 'haproxy'].filter((c) => !hasCommand(c));
  if (missing.includes('iperf3')) throw new Error('bench/hbone needs iperf3 (scripts/setup.sh installs it)');

  // Certificates: one mesh CA, a server and a client workload.
  const ca = await TestCa.create();
  const server = await ca.workload('bench', 'server');
  const client = await ca.workload('bench', 'client');
  writeFileSync(join(dir, 'ca.pem'), ca.rootPem);
  writeFileSync(join(dir, 'server.pem'), server.chainPem);
  writeFileSync(join(dir, 'server-key.pem'), server.keyPem);
  writeFileSync(join(dir, 'client.pem'), client.chainPem);
  writeFileSync(join(dir, 'client-key.pem'), client.keyPem);
  writeFileSync(join(dir, 'server-combined.pem'), server.chainPem + server.keyPem);
  writeFileSync(join(dir, 'client-combined.pem'), client.chainPem + client.keyPem);

  // Targets: iperf3 server and a TCP echo (in this process: the same for every pair).
  const iperfPort = await freePort();
  await start('iperf3', ['-s', '-p', String(iperfPort)]);
  await listening(iperfPort);
  const echo = createServer({ noDelay: true, allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const echoPort = (echo.address() as { port: number }).port;

  const pairs: Pair[] = [{ name: 'direct', iperfPort, echoPort, pids: [] }];

  // Every proxy process starts at once (A needs B only when traffic flows).
  const bPort = await freePort();
  const weft = { iperf: await freePort(), echo: await freePort(), noPoolEcho: await freePort() };
  const pairTs = (...args: string[]): Promise<ChildProcess> =>
    start(process.execPath, ['--import', 'tsx', 'bench/hbone/pair.ts', ...args, '--dir', dir], 'ready');
  const hbone = `127.0.0.1:${bPort}`;
  const [b, a] = await Promise.all([
    pairTs('b', '--port', String(bPort)),
    pairTs(
      'a',
      '--hbone',
      hbone,
      '--route',
      `${weft.iperf}=127.0.0.1:${iperfPort}`,
      '--route',
      `${weft.echo}=127.0.0.1:${echoPort}`,
    ),
    // A' opens one TLS connection per tunnel: what a proxy without pooling pays.
    pairTs('a', '--hbone', hbone, '--no-pool', '--route', `${weft.noPoolEcho}=127.0.0.1:${echoPort}`),
    ...(missing.includes('stunnel4') ? [] : [startStunnel()]),
    ...(missing.includes('haproxy') ? [] : [startHaproxy()]),
  ]);
  pairs.splice(1, 0, {
    name: 'weft',
    iperfPort: weft.iperf,
    echoPort: weft.echo,
    pids: [a?.pid ?? 0, b?.pid ?? 0],
  });
  const noPoolEcho = weft.noPoolEcho;

  /** stunnel4 client → TLS 1.3 with client certificates → stunnel4 server. */
  async function startStunnel(): Promise<undefined> {
    const p = { bi: await freePort(), be: await freePort(), ai: await freePort(), ae: await freePort() };
    const common = `foreground = yes\npid =\nsocket = l:TCP_NODELAY=1\nsocket = r:TCP_NODELAY=1\nsslVersionMin = TLSv1.3\nCAfile = ${dir}/ca.pem\nverifyChain = yes\n`;
    writeFileSync(
      join(dir, 'stunnel-b.conf'),
      `${common}cert = ${dir}/server.pem\nkey = ${dir}/server-key.pem\n[iperf]\naccept = 127.0.0.1:${p.bi}\nconnect = 127.0.0.1:${iperfPort}\n[echo]\naccept = 127.0.0.1:${p.be}\nconnect = 127.0.0.1:${echoPort}\n`,
    );
    writeFileSync(
      join(dir, 'stunnel-a.conf'),
      `${common}cert = ${dir}/client.pem\nkey = ${dir}/client-key.pem\nclient = yes\n[iperf]\naccept = 127.0.0.1:${p.ai}\nconnect = 127.0.0.1:${p.bi}\n[echo]\naccept = 127.0.0.1:${p.ae}\nconnect = 127.0.0.1:${p.be}\n`,
    );
    const sb = await start('stunnel4', [join(dir, 'stunnel-b.conf')]);
    const sa = await start('stunnel4', [join(dir, 'stunnel-a.conf')]);
    await Promise.all([listening(p.ai), listening(p.ae), listening(p.bi), listening(p.be)]);
    pairs.push({ name: 'stunnel', iperfPort: p.ai, echoPort: p.ae, pids: [sa.pid ?? 0, sb.pid ?? 0] });
    return undefined;
  }

  /** haproxy (nbthread 1) → TLS 1.3 with client certificates → haproxy (nbthread 1). */
  async function startHaproxy(): Promise<undefined> {
    const p = { bi: await freePort(), be: await freePort(), ai: await freePort(), ae: await freePort() };
    const head =
      'global\n  nbthread 1\n  maxconn 4000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n';
    const tls = `ca-file ${dir}/ca.pem verify required ssl-min-ver TLSv1.3`;
    writeFileSync(
      join(dir, 'haproxy-b.cfg'),
      `${head}listen iperf\n  bind 127.0.0.1:${p.bi} ssl crt ${dir}/server-combined.pem ${tls}\n  server t 127.0.0.1:${iperfPort}\nlisten echo\n  bind 127.0.0.1:${p.be} ssl crt ${dir}/server-combined.pem ${tls}\n  server t 127.0.0.1:${echoPort}\n`,
    );
    writeFileSync(
      join(dir, 'haproxy-a.cfg'),
      `${head}listen iperf\n  bind 127.0.0.1:${p.ai}\n  server b 127.0.0.1:${p.bi} ssl crt ${dir}/client-combined.pem ${tls}\nlisten echo\n  bind 127.0.0.1:${p.ae}\n  server b 127.0.0.1:${p.be} ssl crt ${dir}/client-combined.pem ${tls}\n`,
    );
    const hb = await start('haproxy', ['-db', '-f', join(dir, 'haproxy-b.cfg')]);
    const ha = await start('haproxy', ['-db', '-f', join(dir, 'haproxy-a.cfg')]);
    await Promise.all([listening(p.ai), listening(p.ae), listening(p.bi), listening(p.be)]);
    pairs.push({ name: 'haproxy', iperfPort: p.ai, echoPort: p.ae, pids: [ha.pid ?? 0, hb.pid ?? 0] });
    return undefined;
  }

  const results: Record<string, Record<string, unknown>> = {};
  for (const pair of pairs) {
    const r: Record<string, unknown> = {};
    r.iperf1 = await iperf(pair, 1);
    if (!quick) r.iperf8 = await iperf(pair, 8);
    r.pingPong = await pingPong(pair.echoPort);
    r.newConnections = await newConnections(pair.echoPort);
    results[pair.name] = r;
  }
  results['weft-no-pool'] = { newConnections: await newConnections(noPoolEcho) };
  const creds = staticCredentials({
    identity: client.spiffeId,
    certChainPem: client.chainPem,
    keyPem: client.keyPem,
    rootsPem: ca.rootPem,
  });
  results.tunnels = {
    pooled: await tunnelRate(creds, bPort, echoPort, true, quick ? 300 : 5000, 100),
    unpooled: await tunnelRate(creds, bPort, echoPort, false, quick ? 40 : 1000, CONCURRENCY),
    // B echoes port 9 in-process: the HBONE cost without B's TCP connect to the target.
    pooledNoUpstreamDial: await tunnelRate(creds, bPort, 9, true, quick ? 300 : 5000, 100),
  };

  const get = (name: string, path: string[]): number | undefined => {
    let v: unknown = results[name];
    for (const k of path) v = (v as Record<string, unknown> | undefined)?.[k];
    return typeof v === 'number' ? v : undefined;
  };
  const ratio = (x: number | undefined, y: number | undefined): number | null =>
    x === undefined || y === undefined || y === 0 ? null : Number((x / y).toFixed(2));
  const ratios = {
    throughput1VsStunnel: ratio(get('weft', ['iperf1', 'mbps']), get('stunnel', ['iperf1', 'mbps'])),
    throughput1VsHaproxy: ratio(get('weft', ['iperf1', 'mbps']), get('haproxy', ['iperf1', 'mbps'])),
    throughput8VsStunnel: ratio(get('weft', ['iperf8', 'mbps']), get('stunnel', ['iperf8', 'mbps'])),
    throughput8VsHaproxy: ratio(get('weft', ['iperf8', 'mbps']), get('haproxy', ['iperf8', 'mbps'])),
    p99VsHaproxy: ratio(get('weft', ['pingPong', 'p99us']), get('haproxy', ['pingPong', 'p99us'])),
    newConnsPooledVsNoPool: ratio(
      get('weft', ['newConnections', 'perSec']),
      get('weft-no-pool', ['newConnections', 'perSec']),
    ),
    tunnelsPooledVsUnpooled: ratio(
      get('tunnels', ['pooled', 'perSec']),
      get('tunnels', ['unpooled', 'perSec']),
    ),
  };
  console.log(
    JSON.stringify(
      {
        bench: 'hbone',
        quick,
        node: process.version,
        cpus: (await import('node:os')).cpus().length,
        settings: {
          iperfSeconds: SECONDS,
          pings: PINGS,
          newConnections: NEW_CONNS,
          concurrency: CONCURRENCY,
        },
        skipped: missing.map((m) => `${m} not installed`),
        results,
        ratios,
      },
      null,
      2,
    ),
  );
  const f = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : String(v));
  console.log(
    `hbone: 1-conn ${f(get('weft', ['iperf1', 'mbps']))} MB/s (${f(ratios.throughput1VsStunnel)}x stunnel, ${f(ratios.throughput1VsHaproxy)}x haproxy), ` +
      `${f(get('weft', ['iperf1', 'cpuPerGiB']))} CPU-s/GiB, ping-pong p50/p99 ${f(get('weft', ['pingPong', 'p50us']))}/${f(get('weft', ['pingPong', 'p99us']))} us (p99 ${f(ratios.p99VsHaproxy)}x haproxy), ` +
      `new tunnels ${f(get('tunnels', ['pooled', 'perSec']))}/s pooled (${f(get('tunnels', ['pooledNoUpstreamDial', 'perSec']))}/s without the upstream dial) vs ${f(get('tunnels', ['unpooled', 'perSec']))}/s unpooled, ` +
      `end-to-end new connections ${f(get('weft', ['newConnections', 'perSec']))}/s (stunnel ${f(get('stunnel', ['newConnections', 'perSec']))}/s, haproxy ${f(get('haproxy', ['newConnections', 'perSec']))}/s)`,
  );
  echo.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
