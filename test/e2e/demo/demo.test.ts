/**
 * The demo mesh end to end, driven the way a user drives it: `weftctl demo up` through the bin, the
 * tour's commands with assertions on what the user sees (status codes, `RBAC: access denied`, metric
 * lines, zero failures during a CA root rotation), then `weftctl demo down` and a check that nothing is
 * left (namespaces, processes, state directory). Root only; skips with the reason otherwise. Steps whose
 * component does not run in this build are skipped with the component's own WEFT_DEMO_* explanation.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandsSkipReason, rootSkipReason, waitFor } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = new URL('../../../', import.meta.url).pathname;
const bin = join(repo, 'packages/cli/bin/weftctl.mjs');

/** The demo runs through weftctl's command dispatch; a build without it cannot run the demo at all. */
function dispatchSkipReason(): string | undefined {
  try {
    const help = execFileSync(process.execPath, [bin, 'help'], {
      cwd: repo,
      encoding: 'utf8',
      timeout: 30_000,
    });
    return /\bdemo\b/.test(help) ? undefined : 'weftctl in this build does not list the demo command';
  } catch (err) {
    return `weftctl does not run: ${String(err).slice(0, 200)}`;
  }
}

const skip = rootSkipReason() ?? commandsSkipReason(['curl', '/usr/bin/python3']) ?? dispatchSkipReason();
if (skip !== undefined) console.warn(`[e2e demo] skipping: ${skip}`);

const workDir = skip === undefined ? mkdtempSync(join(tmpdir(), 'weft-demo-e2e-')) : tmpdir();
const stateDir = join(workDir, 'state');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `weftctl <args…>` as a user runs it (the bin, a separate process), with this test's state dir. */
function weftctl(args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        cwd: repo,
        timeout: timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, WEFTCTL_DEMO_DIR: stateDir },
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 99;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** curl inside a pod through `weftctl demo exec`: the HTTP status (000 = no answer) and the body. */
async function curlIn(
  pod: string,
  url: string,
  extra: string[] = [],
): Promise<{ status: string; body: string }> {
  const r = await weftctl([
    'demo',
    'exec',
    pod,
    '--',
    'curl',
    '-s',
    '-m',
    '4',
    '-w',
    '\n%{http_code}',
    ...extra,
    url,
  ]);
  const nl = r.stdout.lastIndexOf('\n');
  return { status: r.stdout.slice(nl + 1).trim(), body: r.stdout.slice(0, nl) };
}

async function eventuallyStatus(
  pod: string,
  url: string,
  want: string,
  extra: string[] = [],
): Promise<string> {
  let last = '';
  await waitFor(
    async () => {
      last = (await curlIn(pod, url, extra)).status;
      return last === want;
    },
    { timeoutMs: 20_000, intervalMs: 200, what: `${pod} → ${url} answering ${want} (last ${last})` },
  );
  return last;
}

interface Component {
  name: string;
  ok: boolean;
  detail: string;
}

function demoProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (
        readFileSync(`/proc/${entry}/environ`, 'latin1')
          .split('\0')
          .includes(`WEFTCTL_DEMO_OWNER=${stateDir}`)
      )
        pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

async function demoNamespaces(): Promise<string[]> {
  return new Promise((resolve) =>
    execFile('ip', ['netns', 'list'], (_e, out) =>
      resolve(
        String(out)
          .split('\n')
          .map((l) => l.split(' ')[0] ?? '')
          .filter((n) => n.startsWith('weft-demo-')),
      ),
    ),
  );
}

describe.skipIf(skip !== undefined)('weftctl demo: the whole mesh on one machine (root)', () => {
  let up: Run;
  let components: Component[] = [];
  const running = (name: string) => components.find((c) => c.name === name)?.ok === true;
  const why = (name: string) => components.find((c) => c.name === name)?.detail ?? `${name} not reported`;
  /** Skips the running test, with `demo up`'s own explanation, unless every part it needs works. */
  const needs = (ctx: { skip: (note?: string) => void }, ...parts: string[]) => {
    for (const part of parts) if (!running(part)) ctx.skip(`${part} not working in this build: ${why(part)}`);
  };

  beforeAll(async () => {
    // A crashed earlier run left a namespace behind: `demo up` must clear it first.
    execFileSync('ip', ['netns', 'add', 'weft-demo-leftover']);
    up = await weftctl(['demo', 'up'], 110_000);
    const status = await weftctl(['demo', 'status', '-o', 'json']);
    components = (JSON.parse(status.stdout) as { components: Component[] }).components;
  }, 120_000);

  afterAll(async () => {
    // Whatever happened above, leave nothing behind.
    if (skip === undefined) await weftctl(['demo', 'down'], 60_000);
    // Safety net if weftctl itself could not run: nothing this test started may outlive it.
    for (const pid of demoProcesses()) process.kill(pid, 'SIGKILL');
    if (skip === undefined) rmSync(workDir, { recursive: true, force: true });
  }, 70_000);

  it('demo up clears what an earlier run left, starts pilot, both node agents and the apps, and prints the table and the tour', async () => {
    expect(up.stdout).toMatch(/removed a previous demo/);
    expect(await demoNamespaces()).not.toContain('weft-demo-leftover');
    expect(up.stdout, up.stderr).toMatch(/NODE\s+POD\s+NAMESPACE\s+SERVICE ACCOUNT\s+IP/);
    expect(up.stdout).toMatch(/node1\s+web-0\s+frontend\s+web\s+10\.44\.1\.20/);
    expect(up.stdout).toContain('Demo tour');
    for (const name of ['network', 'apps', 'pilot', 'node1', 'node2'])
      expect(running(name), why(name)).toBe(true);
    // Exit 0 only when every part runs; otherwise each missing part is named with its code.
    if (up.code !== 0) expect(up.stdout).toContain('WEFT_DEMO_');
  });

  it('a pod calls another across nodes over mutual TLS, keeping its source IP', async (ctx) => {
    needs(ctx, 'capture');
    const r = await curlIn('web', 'http://orders.prod/get');
    expect(r.status).toBe('200');
    expect(JSON.parse(r.body).origin).toBe('10.44.1.20');
    const cross = await curlIn('web', 'http://payments-0.prod.pod:8080/get');
    expect(cross.status).toBe('200');
    const log = readFileSync(join(stateDir, 'logs/node2.log'), 'utf8');
    expect(log).toMatch(
      /"src.identity":"spiffe:\/\/cluster.local\/ns\/frontend\/sa\/web".*"dst.workload":"payments-0"/,
    );
  });

  it('PERMISSIVE accepts plaintext from outside the mesh; after `demo apply strict` it is refused', async (ctx) => {
    needs(ctx, 'capture');
    expect((await curlIn('outside', 'http://10.44.2.10:8080/get')).status).toBe('200');
    const applied = await weftctl(['demo', 'apply', 'strict']);
    expect(applied.code, applied.stderr).toBe(0);
    await eventuallyStatus('outside', 'http://10.44.2.10:8080/get', '000');
    expect((await curlIn('web', 'http://payments-0.prod.pod:8080/get')).status).toBe('200');
  });

  it('the ingress gateway lets a client outside the mesh in, over HBONE with its own identity', async (ctx) => {
    needs(ctx, 'capture', 'ingress');
    const r = await curlIn('outside', 'http://10.44.1.30/get');
    expect(r.status).toBe('200');
    expect(readFileSync(join(stateDir, 'logs/node1.log'), 'utf8')).toMatch(
      /"src.identity":"spiffe:\/\/cluster.local\/ns\/istio-system\/sa\/istio-ingressgateway".*"dst.workload":"web-0"/,
    );
  });

  it('L4 AuthorizationPolicy at the node agent: payments is cut off from orders, web is not', async (ctx) => {
    needs(ctx, 'capture');
    expect((await weftctl(['demo', 'apply', 'authz'])).code).toBe(0);
    const check = await weftctl([
      'check',
      'authz',
      'prod/payments-0',
      'prod/orders-0',
      '--port',
      '8080',
      '--config-dir',
      join(stateDir, 'config'),
    ]);
    expect(check.stdout).toMatch(/decision:\s+DENY/);
    await eventuallyStatus('payments', 'http://orders.prod/get', '000');
    expect((await curlIn('web', 'http://orders.prod/get')).status).toBe('200');
  });

  it('AuthorizationPolicy at the waypoint: web gets 403 RBAC: access denied, orders 200', async (ctx) => {
    needs(ctx, 'capture', 'waypoint', 'waypoint-route');
    expect((await weftctl(['demo', 'apply', 'authz'])).code).toBe(0);
    await eventuallyStatus('web', 'http://payments.prod/charge', '403', ['-X', 'POST']);
    const denied = await curlIn('web', 'http://payments.prod/charge', ['-X', 'POST']);
    expect(denied.body).toContain('RBAC: access denied');
    expect((await curlIn('orders', 'http://payments.prod/charge', ['-X', 'POST'])).status).toBe('200');
  });

  it('JWT at the waypoint: valid 200, expired 401, wrong audience 403', async (ctx) => {
    needs(ctx, 'capture', 'waypoint', 'waypoint-route');
    expect((await weftctl(['demo', 'apply', 'jwt'])).code).toBe(0);
    const token = async (kind: string) => (await weftctl(['demo', 'token', kind])).stdout.trim();
    const bearer = async (kind: string) => ['-X', 'POST', '-H', `Authorization: Bearer ${await token(kind)}`];
    await eventuallyStatus('orders', 'http://payments.prod/charge', '401', await bearer('expired'));
    expect((await curlIn('orders', 'http://payments.prod/charge', await bearer('valid'))).status).toBe('200');
    expect((await curlIn('orders', 'http://payments.prod/charge', await bearer('wrong-aud'))).status).toBe(
      '403',
    );
  });

  it('the node agent exports Istio metrics on 15020 and logs each connection', async (ctx) => {
    needs(ctx, 'capture');
    const metrics = await (await fetch('http://127.0.0.1:15020/metrics')).text();
    expect(metrics).toMatch(/^istio_tcp_connections_opened_total\{.*source_workload="web-0".*\} \d+/m);
    expect(readFileSync(join(stateDir, 'logs/node1.log'), 'utf8')).toMatch(/"component":"access"/);
    if (running('waypoint-route')) {
      const wp = await weftctl(['demo', 'exec', 'waypoint', '--', 'curl', '-s', '127.0.0.1:15020/metrics']);
      expect(wp.stdout).toMatch(/^istio_requests_total\{reporter="waypoint".*response_code="403".*\} \d+/m);
      expect(readFileSync(join(stateDir, 'logs/waypoint.log'), 'utf8')).toMatch(
        /"component":"access".*"status":403/,
      );
    }
  });

  it('rotates the CA root (add, switch, retire) while traffic flows, with zero failures', async (ctx) => {
    needs(ctx, 'capture');
    const traffic = spawn(process.execPath, [bin, 'demo', 'traffic', '--duration', '12', '-o', 'json'], {
      cwd: repo,
      env: { ...process.env, WEFTCTL_DEMO_DIR: stateDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    traffic.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const done = new Promise<number | null>((resolve) => traffic.once('exit', resolve));
    for (const stage of ['add', 'switch', 'retire']) {
      const r = await weftctl(['ca', 'rotate', '--stage', stage, ...(stage === 'retire' ? ['--force'] : [])]);
      expect(r.code, `${stage}: ${r.stderr}`).toBe(0);
    }
    const status = await weftctl(['ca', 'status', '-o', 'json']);
    expect((JSON.parse(status.stdout) as { roots: unknown[] }).roots).toHaveLength(1);
    expect(await done).toBe(0);
    const summary = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { requests: number; failed: number };
    expect(summary.requests).toBeGreaterThan(50);
    expect(summary.failed).toBe(0);
  }, 60_000);

  it('demo down removes every process, namespace and the state directory, and is safe to repeat', async () => {
    const down = await weftctl(['demo', 'down']);
    expect(down.code, down.stderr).toBe(0);
    expect(await demoNamespaces()).toEqual([]);
    expect(demoProcesses()).toEqual([]);
    expect(existsSync(stateDir)).toBe(false);
    const again = await weftctl(['demo', 'down']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing left behind');
  });
});
