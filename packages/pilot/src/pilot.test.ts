import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@weft/telemetry';
import { waitFor } from '@weft/testkit';
import { TYPE_CONFIG, XdsClient } from '@weft/xds';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePilotConfig } from './config.js';
import { type RunningPilot, startPilot } from './main.js';

const demo = join(import.meta.dirname, '../../../deploy/examples/demo');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(extraArgs: string[] = []): Promise<{ pilot: RunningPilot; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-pilot-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(demo, 'config'), join(dir, 'config'), { recursive: true });
  const config = parsePilotConfig(
    [
      '--config-dir',
      join(dir, 'config'),
      '--xds-port',
      '0',
      '--secure-port',
      '0',
      '--host',
      '127.0.0.1',
      '--ca-dir',
      join(dir, 'ca'),
      '--bootstrap-tokens',
      join(demo, 'bootstrap-tokens.yaml'),
      '--metrics-port',
      '0',
      '--readiness-port',
      '0',
      '--admin-port',
      '0',
      ...extraArgs,
    ],
    {},
  );
  const pilot = await startPilot(config, silentLogger(), {});
  cleanups.push(() => pilot.close());
  return { pilot, dir };
}

function client(port: number, role: 'node' | 'waypoint' = 'node'): XdsClient {
  const c = new XdsClient({
    address: `127.0.0.1:${port}`,
    node: { id: `test-${role}`, nodeName: 'node1', role },
  });
  c.start();
  cleanups.push(() => c.close());
  return c;
}

describe('weft-pilot (embedded mode)', () => {
  it('serves the demo directory over xDS, reports readiness and config_dump, and knows who runs where', async () => {
    const { pilot } = await start();
    const c = client(pilot.xdsPort ?? 0);
    await c.whenSynced();
    expect(c.store.workloadByIp('10.44.1.10')?.name).toBe('orders-0');
    expect(c.store.serviceByIp('10.96.0.11')?.waypoint?.address?.ip).toBe('10.96.0.20');
    expect(c.store.authorizations.has('prod/orders-allow-web')).toBe(true);

    const ready = await fetch(`http://127.0.0.1:${pilot.readinessPort}/healthz/ready`);
    expect(ready.status).toBe(200);
    const dump = (await (await fetch(`http://127.0.0.1:${pilot.adminPort}/config_dump`)).json()) as {
      discovery: { workloads: unknown[]; clients: unknown[]; problems: string[] };
    };
    expect(dump.discovery.workloads).toHaveLength(4);
    expect(dump.discovery.problems).toEqual([]);
    expect(dump.discovery.clients).toHaveLength(1);
    const metrics = await (await fetch(`http://127.0.0.1:${pilot.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/pilot_xds\{component="weft-pilot"\} 1/);
    expect(metrics).toMatch(/pilot_xds_pushes\{type="istio.workload.Address"/);

    expect([...pilot.discovery.identitiesOnNode('node1')].sort()).toEqual([
      'spiffe://cluster.local/ns/frontend/sa/web',
      'spiffe://cluster.local/ns/prod/sa/orders',
    ]);
    expect(pilot.securePort).toBeGreaterThan(0);
  });

  it('follows edits (atomic rename), reports bad files with their location, and keeps the rest flowing', async () => {
    const { pilot, dir } = await start();
    const c = client(pilot.xdsPort ?? 0);
    await c.whenSynced();
    const pods = join(dir, 'config', '03-pods.yaml');
    // An editor-style save: write a temp file, rename over the original.
    const edited = readFileSync(pods, 'utf8').replace(
      'podIP: 10.44.1.10\n  podIPs:\n    - ip: 10.44.1.10',
      'podIP: 10.44.1.11\n  podIPs:\n    - ip: 10.44.1.11',
    );
    writeFileSync(`${pods}.tmp`, edited);
    renameSync(`${pods}.tmp`, pods);
    await waitFor(() => c.store.workloadByIp('10.44.1.11')?.name === 'orders-0', {
      what: 'the edit to reach the client',
    });
    expect(c.store.workloadByIp('10.44.1.10')).toBeUndefined();

    writeFileSync(join(dir, 'config', '99-broken.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: x\n');
    writeFileSync(
      join(dir, 'config', '98-extra.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: {name: extra-0, namespace: frontend}\nspec: {nodeName: node2, serviceAccountName: web}\nstatus: {podIP: 10.44.2.99}\n',
    );
    await waitFor(() => c.store.workloadByIp('10.44.2.99') !== undefined, { what: 'the valid new file' });
    await waitFor(() => pilot.discovery.problems.some((p) => p.code === 'WEFT_CONFIG_BAD_YAML'), {
      what: 'the bad file report',
    });
    const bad = pilot.discovery.problems.find((p) => p.code === 'WEFT_CONFIG_BAD_YAML');
    expect(bad?.location?.file).toBe('99-broken.yaml');
    expect(c.store.workloads.size).toBe(5);

    rmSync(join(dir, 'config', '98-extra.yaml'));
    await waitFor(() => c.store.workloadByIp('10.44.2.99') === undefined, { what: 'the removal' });
  });

  it('gives waypoints the raw L7 config and node agents only addresses and policies', async () => {
    const { pilot } = await start();
    const waypoint = client(pilot.xdsPort ?? 0, 'waypoint');
    const node = client(pilot.xdsPort ?? 0, 'node');
    await Promise.all([waypoint.whenSynced(), node.whenSynced()]);
    expect(
      waypoint.store.configs.has('security.istio.io/AuthorizationPolicy/prod/payments-allow-orders'),
    ).toBe(true);
    expect(node.store.size(TYPE_CONFIG)).toBe(0);
  });

  it('serves xDS over TLS on the secure port (with the CA) to callers with a valid bootstrap token', async () => {
    const { pilot, dir } = await start();
    const root = readFileSync(join(dir, 'ca', 'root-cert.pem'), 'utf8');
    const good = new XdsClient({
      address: `127.0.0.1:${pilot.securePort}`,
      tls: { ca: root, servername: 'localhost' },
      token: () => 'demo-node1-7f3a9c2e5b1d4860',
      node: { id: 'n1', nodeName: 'node1', role: 'node' },
    });
    good.start();
    cleanups.push(() => good.close());
    await good.whenSynced();
    expect(good.store.workloads.size).toBe(4);

    // The trust bundle stream is relayed on the same port.
    const { TrustBundle, TrustBundleWatcher } = await import('@weft/certs');
    const bundle = new TrustBundle();
    const watcher = new TrustBundleWatcher({
      address: `127.0.0.1:${pilot.securePort}`,
      roots: () => [root],
      serverName: 'localhost',
      bundle,
    });
    watcher.start();
    cleanups.push(() => watcher.stop());
    await waitFor(() => bundle.roots.length > 0, { what: 'the trust bundle over the secure port' });
  });
});

describe('weft-pilot binary', () => {
  it('starts from flags, reports ready, and shuts down cleanly on SIGTERM', async () => {
    const { spawnApp } = await import('@weft/testkit');
    const dir = mkdtempSync(join(tmpdir(), 'weft-pilot-bin-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const app = await spawnApp({
      name: 'weft-pilot',
      command: process.execPath,
      args: [
        join(import.meta.dirname, '../bin/weft-pilot.mjs'),
        ...['--config-dir', join(demo, 'config'), '--bootstrap-tokens', join(demo, 'bootstrap-tokens.yaml')],
        ...['--ca-dir', join(dir, 'ca'), '--host', '127.0.0.1', '--xds-port', '0', '--secure-port', '0'],
        ...['--metrics-port', '0', '--readiness-port', '0', '--admin-port', '0'],
      ],
      env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info' },
      ready: { logLine: /weft-pilot ready/ },
      timeoutMs: 30_000,
    });
    const exit = await app.stop(10_000);
    expect(exit.code).toBe(0);
    expect(app.output()).toMatch(/weft-pilot stopped/);
  });

  it('refuses bad flags with exit code 2 and says why', async () => {
    const { execFile } = await import('node:child_process');
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(import.meta.dirname, '../bin/weft-pilot.mjs'), '--xds-port', 'lots'],
        (err, _o, stderr) =>
          resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? null), stderr }),
      );
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/XDS_PORT must be a port number/);
  });
});

describe('weft-pilot CA placement from discovery', () => {
  it('issues a node agent only the identities of pods on its node, following config edits', async () => {
    const { IstioCaClient, generateKeyAndCsr } = await import('@weft/certs');
    const { pilot, dir } = await start();
    const root = readFileSync(join(dir, 'ca', 'root-cert.pem'), 'utf8');
    const ca = new IstioCaClient({
      address: `127.0.0.1:${pilot.securePort}`,
      roots: () => [root],
      serverName: 'localhost',
      token: () => 'demo-node1-7f3a9c2e5b1d4860',
    });
    cleanups.push(() => ca.close());
    const sign = async (identity: string) => {
      const { csrPem } = await generateKeyAndCsr(identity);
      return ca.sign({ csrPem, identity, ttlSeconds: 3600 });
    };
    const orders = 'spiffe://cluster.local/ns/prod/sa/orders';
    const payments = 'spiffe://cluster.local/ns/prod/sa/payments';
    expect((await sign(orders)).length).toBeGreaterThanOrEqual(1);
    await expect(sign(payments)).rejects.toMatchObject({ details: { serverCode: 'WEFT_CA_NOT_ON_NODE' } });

    // payments moves to node1: the CA follows discovery.
    const pods = join(dir, 'config', '03-pods.yaml');
    const moved = readFileSync(pods, 'utf8').replace(
      'name: payments-0\n  namespace: prod\n  labels:\n    app: payments\n    version: v1\n  annotations:\n    weft.dev/netns: weft-demo-payments\nspec:\n  nodeName: node2',
      'name: payments-0\n  namespace: prod\n  labels:\n    app: payments\n    version: v1\n  annotations:\n    weft.dev/netns: weft-demo-payments\nspec:\n  nodeName: node1',
    );
    expect(moved).not.toBe(readFileSync(pods, 'utf8'));
    writeFileSync(`${pods}.tmp`, moved);
    renameSync(`${pods}.tmp`, pods);
    await waitFor(() => pilot.discovery.identitiesOnNode('node1').has(payments), { what: 'the move' });
    expect((await sign(payments)).length).toBeGreaterThanOrEqual(1);
  });
});
