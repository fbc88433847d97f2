import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isWeftError } from '@weft/telemetry/errors';
import { waitFor } from '@weft/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { install, KUBECONFIG_NAME, uninstall, watchInstall } from './install.js';
import { loadKubeconfig } from './kube-client.js';

let dir: string;
let opts: Parameters<typeof install>[0];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'weft-cni-install-'));
  for (const d of ['bin', 'net.d']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'plugin'), '#!/bin/sh\necho plugin\n');
  opts = {
    binDir: join(dir, 'bin'),
    confDir: join(dir, 'net.d'),
    hostConfDir: '/etc/cni/net.d',
    pluginSource: join(dir, 'plugin'),
    pluginConfig: { socketPath: '/var/run/weft/node.sock', failurePolicy: 'auto' },
    waitMs: 0,
    pause: async () => {},
  };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const conflist = { cniVersion: '1.0.0', name: 'k8s', plugins: [{ type: 'bridge' }, { type: 'portmap' }] };

describe('install / uninstall', () => {
  it('chains the plugin, copies it executable, and is idempotent', async () => {
    writeFileSync(join(dir, 'net.d', '10-k8s.conflist'), JSON.stringify(conflist));
    const first = await install(opts);
    expect(first.changed).toHaveLength(2);
    const written = JSON.parse(readFileSync(join(dir, 'net.d', '10-k8s.conflist'), 'utf8'));
    expect(written.plugins.map((p: { type: string }) => p.type)).toEqual(['bridge', 'portmap', 'weft-cni']);
    expect(written.plugins[2].socketPath).toBe('/var/run/weft/node.sock');
    expect(statSync(join(dir, 'bin', 'weft-cni')).mode & 0o777).toBe(0o755);
    expect((await install(opts)).changed).toEqual([]);

    expect(uninstall(opts)).toHaveLength(2);
    expect(JSON.parse(readFileSync(join(dir, 'net.d', '10-k8s.conflist'), 'utf8'))).toEqual(conflist);
    expect(uninstall(opts)).toEqual([]);
  });

  it('turns a single-plugin .conf into a conflist', async () => {
    writeFileSync(
      join(dir, 'net.d', '10-bridge.conf'),
      JSON.stringify({ cniVersion: '0.4.0', name: 'n', type: 'bridge' }),
    );
    const report = await install(opts);
    expect(report.conflist).toBe(join(dir, 'net.d', '10-bridge.conflist'));
    const written = JSON.parse(readFileSync(report.conflist, 'utf8'));
    expect(written).toMatchObject({
      cniVersion: '0.4.0',
      name: 'n',
      plugins: [{ type: 'bridge' }, { type: 'weft-cni' }],
    });
  });

  it('writes a kubeconfig the plugin can read', async () => {
    writeFileSync(join(dir, 'net.d', '10-k8s.conflist'), JSON.stringify(conflist));
    await install({ ...opts, kube: { server: 'https://10.96.0.1:443', token: 'tok', caPem: 'CA PEM' } });
    const written = JSON.parse(readFileSync(join(dir, 'net.d', '10-k8s.conflist'), 'utf8'));
    expect(written.plugins[2].kubeconfig).toBe(`/etc/cni/net.d/${KUBECONFIG_NAME}`);
    const access = await loadKubeconfig(join(dir, 'net.d', KUBECONFIG_NAME));
    expect(access).toMatchObject({ server: 'https://10.96.0.1:443', token: 'tok', ca: 'CA PEM' });
    expect(statSync(join(dir, 'net.d', KUBECONFIG_NAME)).mode & 0o777).toBe(0o600);
  });

  it('reports a missing primary CNI config', async () => {
    const err = await install(opts).catch((e: unknown) => e);
    expect(isWeftError(err, 'WEFT_CNI_NO_CONFLIST')).toBe(true);
  });

  it('--watch puts the entry back when the primary CNI rewrites its conflist', async () => {
    const path = join(dir, 'net.d', '10-k8s.conflist');
    writeFileSync(path, JSON.stringify(conflist));
    await install(opts);
    const stop = new AbortController();
    const changes: string[][] = [];
    const watching = watchInstall(
      () => opts,
      stop.signal,
      (r) => changes.push(r.changed),
      60_000,
    );
    try {
      // The primary CNI restarts and writes its own conflist again, without weft-cni.
      writeFileSync(path, JSON.stringify(conflist));
      const types = () => JSON.parse(readFileSync(path, 'utf8')).plugins.map((p: { type: string }) => p.type);
      await waitFor(() => types().includes('weft-cni'), {
        timeoutMs: 10_000,
        what: 'weft-cni back in the chain',
      });
      expect(types()).toEqual(['bridge', 'portmap', 'weft-cni']);
      expect(changes).toEqual([[path]]);
    } finally {
      stop.abort();
      await watching;
    }
  });
});
