/**
 * bench/waypoint: what the waypoint's L7 engine costs, with JWT validation (RS256, inline JWKS) and 100
 * AuthorizationPolicies, next to the app reached directly and haproxy 2.6 doing the same JWT check
 * (jwt_verify + alg allow-list + exp/iss/aud) in front of the same app, all measured in the same run.
 *
 *   node --import tsx bench/waypoint/run.ts [--quick]
 *
 * - HTTP/1.1 with autocannon (separate process): a connection sweep → the best req/s whose p99 < 10 ms;
 *   then a fixed 1,000 req/s → p50/p99 and the proxy's CPU-seconds per second (vCPU) per 1,000 req/s.
 * - HTTP/2 with h2load: req/s through the waypoint vs the app directly.
 * The waypoint runs in its own process (bench/waypoint/waypoint-proc.ts) with a plaintext front door, so
 * the numbers are the L7 engine's; the HBONE (mTLS) hop is measured by bench/hbone. One JSON document,
 * then a summary line.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { ISSUER } from './fixture.js';

const execFileP = promisify(execFile);
const quick = process.argv.includes('--quick');
const root = join(import.meta.dirname, '..', '..');
const SWEEP = quick ? [10] : [1, 4, 10, 25, 50];
const SWEEP_SECONDS = quick ? 1 : 5;
const FIXED_SECONDS = quick ? 2 : 10;
const FIXED_RATE = 1000;
const H2_REQUESTS = quick ? 2_000 : 20_000;
const CLK_TCK = 100;

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

async function startJson(
  cmd: string,
  args: string[],
): Promise<{ child: ChildProcess; info: Record<string, number> }> {
  const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const [line] = (await Promise.race([once(rl, 'line'), once(child, 'exit').then(() => [undefined])])) as [
    string | undefined,
  ];
  if (line === undefined) throw new Error(`${cmd} ${args.join(' ')} exited before it was ready`);
  return { child, info: JSON.parse(line) as Record<string, number> };
}

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  return port;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

interface Cannon {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function autocannon(
  url: string,
  token: string,
  opts: { connections: number; seconds: number; rate?: number },
): Promise<Cannon> {
  const args = [
    join(root, 'node_modules/autocannon/autocannon.js'),
    '-j',
    '-c',
    String(opts.connections),
    '-d',
    String(opts.seconds),
    '-m',
    'POST',
    '-H',
    `authorization=Bearer ${token}`,
    '-H',
    'host=payments',
    ...(opts.rate === undefined ? [] : ['-R', String(opts.rate)]),
    url,
  ];
  const { stdout } = await execFileP(process.execPath, args, { cwd: root, maxBuffer: 64 * 1024 * 1024 });
  const r = JSON.parse(stdout) as {
    requests: { average: number };
    latency: { p50: number; p99: number };
    errors: number;
    non2xx: number;
  };
  return {
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
  };
}

async function sweep(
  url: string,
  token: string,
): Promise<{ runs: (Cannon & { connections: number })[]; maxRpsP99Under10ms: number }> {
  const runs: (Cannon & { connections: number })[] = [];
  for (const c of SWEEP)
    runs.push({
      connections: c,
      ...(await autocannon(url, token, { connections: c, seconds: SWEEP_SECONDS })),
    });
  const ok = runs.filter((r) => r.p99 < 10 && r.errors === 0 && r.non2xx === 0);
  return { runs, maxRpsP99Under10ms: Math.max(0, ...ok.map((r) => r.rps)) };
}

async function fixed(
  url: string,
  token: string,
  pid: number | undefined,
): Promise<Cannon & { cpuSeconds?: number; vcpuPer1kRps?: number }> {
  const before = pid === undefined ? 0 : cpuSeconds(pid);
  const t = performance.now();
  const r = await autocannon(url, token, { connections: 10, seconds: FIXED_SECONDS, rate: FIXED_RATE });
  if (pid === undefined) return r;
  const cpu = cpuSeconds(pid) - before;
  const wall = (performance.now() - t) / 1000;
  return {
    ...r,
    cpuSeconds: Math.round(cpu * 1000) / 1000,
    vcpuPer1kRps: Math.round((cpu / wall / (r.rps / 1000)) * 1000) / 1000,
  };
}

async function h2load(
  url: string,
  token: string,
): Promise<{ rps: number; meanMs: number; failed: number } | { skipped: string }> {
  try {
    const { stdout } = await execFileP(
      'h2load',
      [
        '-n',
        String(H2_REQUESTS),
        '-c',
        '4',
        '-m',
        '25',
        '-H',
        `authorization: Bearer ${token}`,
        '-H',
        ':method: POST',
        url,
      ],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const rps = Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(stdout)?.[1] ?? 0);
    const failed = Number(
      /requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed/.exec(stdout)?.[1] ?? -1,
    );
    const meanText = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(stdout)?.[1] ?? '0';
    const meanMs = meanText.endsWith('ms')
      ? Number.parseFloat(meanText)
      : meanText.endsWith('us')
        ? Number.parseFloat(meanText) / 1000
        : Number.parseFloat(meanText) * 1000;
    return { rps: Math.round(rps), meanMs: Math.round(meanMs * 1000) / 1000, failed };
  } catch (err) {
    return { skipped: `h2load failed: ${(err as Error).message.split('\n')[0]}` };
  }
}

function haproxyConfig(port: number, appPort: number, pubPem: string): string {
  return `global
  nbthread 1
  log stderr format raw local0 err
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend fe
  bind 127.0.0.1:${port}
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('$.alg')
  http-request set-var(txn.now) date()
  http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('$.exp','int')
  http-request deny deny_status 401 unless { var(txn.alg) -m str RS256 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"${pubPem}") -m int 1 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_payload_query('$.iss') -m str ${ISSUER} }
  http-request deny deny_status 403 unless { var(txn.bearer),jwt_payload_query('$.aud') -m str payments }
  http-request deny deny_status 401 if { var(txn.exp),sub(txn.now) -m int lt 0 }
  http-request deny deny_status 403 unless { method POST } { path /charge }
  default_backend app
backend app
  server app 127.0.0.1:${appPort}
`;
}

const dir = mkdtempSync(join(tmpdir(), 'weft-bench-waypoint-'));
try {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'bench', alg: 'RS256' };
  writeFileSync(join(dir, 'jwk.json'), JSON.stringify(jwk));
  writeFileSync(join(dir, 'pub.pem'), publicKey.export({ format: 'pem', type: 'spki' }));
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const signingInput = `${b64({ alg: 'RS256', kid: 'bench', typ: 'JWT' })}.${b64({ iss: ISSUER, sub: 'alice', aud: 'payments', iat: now, exp: now + 7200 })}`;
  const token = `${signingInput}.${sign('sha256', Buffer.from(signingInput), privateKey).toString('base64url')}`;

  const app = await startJson(process.execPath, ['--import', 'tsx', 'bench/waypoint/app.ts']);
  const wp = await startJson(process.execPath, [
    ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []),
    '--import',
    'tsx',
    'bench/waypoint/waypoint-proc.ts',
    String(app.info.h1),
    String(app.info.h2),
    join(dir, 'jwk.json'),
  ]);
  let haproxy: { pid: number; port: number } | { skipped: string };
  try {
    const port = await freePort();
    writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(port, app.info.h1 as number, join(dir, 'pub.pem')));
    await execFileP('haproxy', ['-c', '-q', '-f', join(dir, 'haproxy.cfg')]);
    const child = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const s = createServer();
        s.once('error', () => resolve(true));
        s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
      });
      if (up) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    haproxy = { pid: child.pid as number, port };
  } catch (err) {
    haproxy = { skipped: `haproxy unavailable: ${(err as Error).message.split('\n')[0]}` };
  }

  const urls = {
    direct: `http://127.0.0.1:${app.info.h1}/charge`,
    waypoint: `http://127.0.0.1:${wp.info.h1}/charge`,
    ...('port' in haproxy ? { haproxy: `http://127.0.0.1:${haproxy.port}/charge` } : {}),
  };
  // Sanity: the token is accepted by both proxies and a bad one is refused.
  const check = await autocannon(urls.waypoint, token, { connections: 1, seconds: 1 });
  if (check.non2xx > 0 || check.errors > 0)
    throw new Error(`the waypoint refused the benchmark request: ${JSON.stringify(check)}`);
  const refused = await autocannon(urls.waypoint, `${token}x`, { connections: 1, seconds: 1 });

  const http1: Record<string, unknown> = {};
  for (const [name, url] of Object.entries(urls)) {
    const pid =
      name === 'waypoint'
        ? wp.child.pid
        : name === 'haproxy' && 'pid' in haproxy
          ? haproxy.pid
          : app.child.pid;
    http1[name] = { sweep: await sweep(url, token), fixed1k: await fixed(url, token, pid) };
  }
  const http2 = {
    direct: await h2load(`http://127.0.0.1:${app.info.h2}/charge`, token),
    waypoint: await h2load(`http://127.0.0.1:${wp.info.h2}/charge`, token),
  };

  type H1 = { sweep: { maxRpsP99Under10ms: number }; fixed1k: Cannon & { vcpuPer1kRps?: number } };
  const d = http1.direct as H1;
  const w = http1.waypoint as H1;
  const hp = http1.haproxy as H1 | undefined;
  const ratio = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 100) / 100);
  const result = {
    bench: 'waypoint',
    quick,
    node: process.version,
    setup: {
      policies: 100,
      jwt: 'RS256 inline JWKS, verified-token cache on',
      accessLog: false,
      proxiesThreads: 1,
      haproxy:
        'port' in haproxy
          ? 'jwt_verify + alg allow-list + exp/iss/aud + one method/path rule, nbthread 1'
          : haproxy.skipped,
    },
    badTokenRefused: refused.non2xx > 0,
    http1,
    http2,
    ratios: {
      waypointVsDirectMaxRps: ratio(w.sweep.maxRpsP99Under10ms, d.sweep.maxRpsP99Under10ms),
      waypointVsHaproxyMaxRps:
        hp === undefined ? null : ratio(w.sweep.maxRpsP99Under10ms, hp.sweep.maxRpsP99Under10ms),
      waypointAddedP99MsAt1k: Math.round((w.fixed1k.p99 - d.fixed1k.p99) * 100) / 100,
      haproxyAddedP99MsAt1k:
        hp === undefined ? null : Math.round((hp.fixed1k.p99 - d.fixed1k.p99) * 100) / 100,
      waypointVcpuPer1kRps: w.fixed1k.vcpuPer1kRps ?? null,
      haproxyVcpuPer1kRps: hp?.fixed1k.vcpuPer1kRps ?? null,
      h2WaypointVsDirect:
        'rps' in http2.waypoint && 'rps' in http2.direct ? ratio(http2.waypoint.rps, http2.direct.rps) : null,
    },
    targets: { vcpuPer1kRps: 0.15, addedP99MsAt1k: 2 },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `waypoint: max ${w.sweep.maxRpsP99Under10ms} req/s p99<10ms (direct ${d.sweep.maxRpsP99Under10ms}, haproxy ${hp?.sweep.maxRpsP99Under10ms ?? '-'}); @1k req/s ${w.fixed1k.vcpuPer1kRps ?? '-'} vCPU (haproxy ${hp?.fixed1k.vcpuPer1kRps ?? '-'}), added p99 ${result.ratios.waypointAddedP99MsAt1k} ms; h2 ${'rps' in http2.waypoint ? http2.waypoint.rps : '-'} req/s (direct ${'rps' in http2.direct ? http2.direct.rps : '-'})\n`,
  );
} finally {
  for (const c of children) c.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
