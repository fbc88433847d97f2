import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { type AdminServers, startAdminServers } from './admin.js';
import { componentLogger, createLogger } from './logger.js';
import { counter, createRegistry, istioLabels } from './metrics.js';
import { Readiness } from './readiness.js';

function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { logger: createLogger({ name: 'test', destination }), lines };
}

describe('admin servers', () => {
  let servers: AdminServers | undefined;
  afterEach(async () => {
    await servers?.close();
    servers = undefined;
  });

  async function start(readiness = new Readiness()) {
    const { logger, lines } = captureLogger();
    const registry = createRegistry({ processMetrics: false });
    servers = await startAdminServers({
      logger,
      registry,
      readiness,
      configDump: () => ({ workloads: [{ name: 'orders' }] }),
      ports: { metrics: 0, readiness: 0, admin: 0 },
      host: '127.0.0.1',
    });
    return { logger, lines, registry, servers };
  }

  it('serves Istio-named metrics on /metrics and /stats/prometheus', async () => {
    const { registry, servers } = await start();
    counter(registry, 'istio_tcp_connections_opened_total', 'opened', ['reporter', 'response_flags']).inc({
      reporter: 'destination',
      response_flags: '-',
    });
    for (const path of ['/metrics', '/stats/prometheus']) {
      const text = await (await fetch(`http://127.0.0.1:${servers.metricsPort}${path}`)).text();
      expect(text).toContain(
        'istio_tcp_connections_opened_total{reporter="destination",response_flags="-"} 1',
      );
    }
  });

  it('answers /healthz/ready 503 with the pending conditions, then 200', async () => {
    const readiness = new Readiness();
    readiness.require('xds', 'waiting for first push');
    const { servers } = await start(readiness);
    const url = `http://127.0.0.1:${servers.readinessPort}/healthz/ready`;
    const notReady = await fetch(url);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ ready: false, pending: { xds: 'waiting for first push' } });
    readiness.markReady('xds');
    expect((await fetch(url)).status).toBe(200);
  });

  it('serves /config_dump and changes log levels at run time via /logging', async () => {
    const { logger, lines, servers } = await start();
    const hbone = componentLogger(logger, 'hbone');
    const base = `http://127.0.0.1:${servers.adminPort}`;
    expect(await (await fetch(`${base}/config_dump`)).json()).toEqual({ workloads: [{ name: 'orders' }] });
    hbone.debug('hidden');
    const res = await fetch(`${base}/logging?component=hbone&level=debug`, { method: 'POST' });
    expect(await res.json()).toMatchObject({ level: 'info', components: { hbone: 'debug' } });
    hbone.debug('shown');
    expect(lines.map((l) => l.msg)).toEqual(['shown']);
    expect(lines[0]).toMatchObject({ component: 'hbone', name: 'test' });
  });

  it('rejects a bad level or component with a code', async () => {
    const { servers } = await start();
    const base = `http://127.0.0.1:${servers.adminPort}`;
    const bad = await fetch(`${base}/logging?level=loud`, { method: 'POST' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'WEFT_ADMIN_BAD_LEVEL' });
    const unknown = await fetch(`${base}/logging?component=nope&level=debug`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 'WEFT_ADMIN_UNKNOWN_COMPONENT' });
  });
});

describe('logger', () => {
  it('never logs keys or tokens', () => {
    const { logger, lines } = captureLogger();
    logger.info(
      { token: 'secret-token', cert: { key: 'PRIVATE' }, headers: { authorization: 'Bearer x' } },
      'm',
    );
    const text = JSON.stringify(lines);
    expect(text).not.toContain('secret-token');
    expect(text).not.toContain('PRIVATE');
    expect(text).not.toContain('Bearer x');
  });
});

describe('istioLabels', () => {
  it('fills every Istio label, reporting missing values as unknown', () => {
    const labels = istioLabels({
      reporter: 'destination',
      source_principal: 'spiffe://cluster.local/ns/a/sa/b',
    });
    expect(labels.reporter).toBe('destination');
    expect(labels.destination_workload).toBe('unknown');
    expect(Object.keys(labels)).toHaveLength(23);
  });
});
