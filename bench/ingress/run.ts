/**
 * bench/ingress: HTTPS requests per second and p99 latency through weft-waypoint as an ingress gateway
 * terminating mutual TLS (Gateway MUTUAL, client-certificate principal, the brief's DENY policy,
 * VirtualService routing), against haproxy terminating the same mTLS in front of the same backend, with
 * the same client (autocannon, keep-alive, client certificate) in one run, side by side.
 *
 *   node --import tsx bench/ingress/run.ts [--quick]
 *
 * Prints one JSON document, then a summary line.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, TestCa, waitFor } from '@weft/testkit';
import autocannon from 'autocannon';

const quick = process.argv.includes('--quick');
const DURATION_S = quick ? 2 : 10;
const CONNECTIONS = 50;
const ROUNDS = quick ? 1 : 2;
const WARMUP_S = quick ? 1 : 3;
const ROOT = join(import.meta.dirname, '..', '..');

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function start(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let tail = '';
  const keep = (b: Buffer): void => {
    tail = (tail + b.toString()).slice(-4000);
  };
  child.stderr?.on('data', keep);
  child.once('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`${command} exited ${code}: ${tail}\n`);
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await once(child, 'exit');
  clearTimeout(timer);
}

interface Tls {
  ca: string;
  cert: string;
  key: string;
}

function get(port: number, path: string, tls: Tls): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: 'test.com',
        headers: { host: 'test.com' },
        agent: false,
        ...tls,
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** CPU seconds (user + system) a process used so far, from /proc (Linux). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

interface Measured {
  /** vCPU the proxy used while loaded (CPU-seconds per second). */
  proxyCpu: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  total: number;
}

async function load(port: number, tls: Tls, proxy: ChildProcess, durationS = DURATION_S): Promise<Measured> {
  const cpu0 = cpuSeconds(proxy.pid);
  const t0 = performance.now();
  const r = await autocannon({
    url: `https://127.0.0.1:${port}/status/200`,
    connections: CONNECTIONS,
    duration: durationS,
    headers: { host: 'test.com' },
    servername: 'test.com',
    tlsOptions: { ca: tls.ca, cert: tls.cert, key: tls.key },
  });
  const cpu = (cpuSeconds(proxy.pid) - cpu0) / ((performance.now() - t0) / 1000);
  return {
    proxyCpu: Number(cpu.toFixed(2)),
    requestsPerSecond: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    total: r.requests.total,
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-ingress-'));
  try {
    const ca = await TestCa.create({ rsa: true, name: 'Bench CA' });
    const server = await ca.issue({ dnsNames: ['test.com'], commonName: 'test.com', rsa: true });
    const client = await ca.issue({ uris: ['spiffe://test.client'], commonName: 'test.client', rsa: true });
    const tls: Tls = { ca: ca.certPem, cert: client.chainPem, key: client.keyPem };

    const backend = start(process.execPath, ['--import', 'tsx', 'bench/ingress/backend.ts']);
    const line = await new Promise<string>((resolve) => {
      createInterface({ input: backend.stdout as NodeJS.ReadableStream }).once('line', resolve);
    });
    const backendPort = Number(line.split(' ')[1]);

    // weft-waypoint --mode ingress, config and credential from directories.
    const configDir = join(dir, 'config');
    const credDir = join(dir, 'credentials', 'test.com');
    const certDir = join(dir, 'mesh');
    for (const d of [configDir, credDir, certDir]) mkdirSync(d, { recursive: true });
    writeFileSync(join(credDir, 'tls.crt'), server.chainPem);
    writeFileSync(join(credDir, 'tls.key'), server.keyPem);
    writeFileSync(join(credDir, 'ca.crt'), ca.certPem);
    const meshCa = await TestCa.create();
    const mesh = await meshCa.workload('istio-system', 'istio-ingressgateway');
    writeFileSync(join(certDir, 'tls.crt'), mesh.chainPem);
    writeFileSync(join(certDir, 'tls.key'), mesh.keyPem);
    writeFileSync(join(certDir, 'ca.crt'), meshCa.rootPem);
    writeFileSync(
      join(configDir, 'ingress.yaml'),
      `apiVersion: v1
kind: Service
metadata: { name: backend, namespace: default }
spec:
  clusterIP: 10.96.0.40
  selector: { app: backend }
  ports: [{ name: http, port: 8000, targetPort: ${backendPort} }]
---
apiVersion: v1
kind: Pod
metadata: { name: backend-0, namespace: default, labels: { app: backend } }
spec: { serviceAccountName: backend }
status: { phase: Running, podIP: 127.0.0.1 }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: bench, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
    - hosts: [test.com]
      port: { number: 443, name: https, protocol: HTTPS }
      tls: { mode: MUTUAL, credentialName: test.com }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: bench, namespace: default }
spec:
  hosts: [test.com]
  gateways: [bench]
  http: [{ route: [{ destination: { host: backend, port: { number: 8000 } } }] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-418, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  action: DENY
  rules:
    - from: [{ source: { principals: [test.client] } }]
      to: [{ operation: { paths: [/status/418] } }]
`,
    );
    const gwPort = await freePort();
    const readiness = await freePort();
    const gateway = start(
      process.execPath,
      [
        ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []),
        '--import',
        'tsx',
        'bench/ingress/gateway-main.ts',
        '--mode',
        'ingress',
      ],
      {
        ...process.env,
        CERT_DIR: certDir,
        GATEWAY_NAME: 'istio-ingressgateway',
        POD_NAMESPACE: 'istio-system',
        GATEWAY_CONFIG_DIR: configDir,
        GATEWAY_CREDENTIALS_DIR: join(dir, 'credentials'),
        GATEWAY_PORTS: `443=${gwPort}`,
        LISTEN_HOST: '127.0.0.1',
        HBONE_PORT: String(await freePort()),
        ADMIN_PORT: String(await freePort()),
        METRICS_PORT: String(await freePort()),
        READINESS_PORT: String(readiness),
        LOG_LEVEL: 'warn',
        ACCESS_LOG: 'false',
      },
    );
    await waitFor(
      async () => {
        try {
          const r = await fetch(`http://127.0.0.1:${readiness}/healthz/ready`);
          await r.arrayBuffer();
          return r.status === 200 && (await get(gwPort, '/status/200', tls)).status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, what: 'weft-waypoint ingress gateway' },
    );

    // haproxy terminating the same mTLS (and the same deny rule, by the client certificate's URI SAN).
    writeFileSync(join(dir, 'haproxy.pem'), server.chainPem + server.keyPem);
    writeFileSync(join(dir, 'ca.pem'), ca.certPem);
    const haPort = await freePort();
    writeFileSync(
      join(dir, 'haproxy.cfg'),
      `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend fe
  bind 127.0.0.1:${haPort} ssl crt ${join(dir, 'haproxy.pem')} ca-file ${join(dir, 'ca.pem')} verify required alpn http/1.1
  http-request deny deny_status 403 if { path /status/418 } { ssl_c_s_dn(CN) -m str test.client }
  default_backend be
backend be
  server s1 127.0.0.1:${backendPort}
`,
    );
    const haproxy = start('haproxy', ['-f', join(dir, 'haproxy.cfg'), '-db']);
    await waitFor(
      async () => {
        try {
          return (await get(haPort, '/status/200', tls)).status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: 10_000, what: 'haproxy' },
    );
    const checks = {
      weft418: (await get(gwPort, '/status/418', tls)).status,
      haproxy418: (await get(haPort, '/status/418', tls)).status,
    };

    // Warm both up first (JIT, connection pools), then measure them alternately.
    await load(gwPort, tls, gateway, WARMUP_S);
    await load(haPort, tls, haproxy, WARMUP_S);
    const weftRuns: Measured[] = [];
    const haRuns: Measured[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      weftRuns.push(await load(gwPort, tls, gateway));
      haRuns.push(await load(haPort, tls, haproxy));
    }
    const mean = (list: Measured[], k: keyof Measured) => list.reduce((a, m) => a + m[k], 0) / list.length;
    const weft = {
      requestsPerSecond: Math.round(mean(weftRuns, 'requestsPerSecond')),
      p99Ms: mean(weftRuns, 'p99Ms'),
      proxyCpu: Number(mean(weftRuns, 'proxyCpu').toFixed(2)),
      errors: mean(weftRuns, 'errors'),
      non2xx: mean(weftRuns, 'non2xx'),
    };
    const ha = {
      requestsPerSecond: Math.round(mean(haRuns, 'requestsPerSecond')),
      p99Ms: mean(haRuns, 'p99Ms'),
      proxyCpu: Number(mean(haRuns, 'proxyCpu').toFixed(2)),
      errors: mean(haRuns, 'errors'),
      non2xx: mean(haRuns, 'non2xx'),
    };
    const ratio = ha.requestsPerSecond === 0 ? 0 : weft.requestsPerSecond / ha.requestsPerSecond;
    await Promise.all([stop(gateway), stop(haproxy), stop(backend)]);
    let haproxyVersion = '';
    try {
      haproxyVersion = execFileSync('haproxy', ['-v'], { encoding: 'utf8' }).split('\n')[0] ?? '';
    } catch {
      // reported as empty
    }
    process.stdout.write(
      `${JSON.stringify(
        {
          bench: 'ingress',
          quick,
          node: process.version,
          cpus: cpus().length,
          haproxy: haproxyVersion,
          setup: {
            client: `autocannon, ${CONNECTIONS} keep-alive connections, ${DURATION_S} s, GET /status/200, client certificate (RSA 2048)`,
            rounds: ROUNDS,
            warmupSeconds: WARMUP_S,
            weft: 'weft-waypoint --mode ingress, Gateway MUTUAL, DENY policy on the client principal, VirtualService → backend',
            haproxy:
              'nbthread 1, ssl verify required, deny rule on the client certificate, http-reuse always',
          },
          checks,
          results: {
            weft,
            haproxy: ha,
            ratio: Number(ratio.toFixed(3)),
            runs: { weft: weftRuns, haproxy: haRuns },
          },
        },
        null,
        2,
      )}\n`,
    );
    process.stdout.write(
      `ingress: weft-gateway ${weft.requestsPerSecond} req/s p99 ${weft.p99Ms} ms (${weft.proxyCpu} vCPU), haproxy ${ha.requestsPerSecond} req/s p99 ${ha.p99Ms} ms (${ha.proxyCpu} vCPU), ratio ${ratio.toFixed(2)}x (target >= 0.70x)\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
