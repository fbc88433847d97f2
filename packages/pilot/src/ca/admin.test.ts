import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@weft/certs';
import { type AdminServers, Readiness, Registry, silentLogger, startAdminServers } from '@weft/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caAdminRoutes } from './admin.js';
import { CertificateAuthority } from './authority.js';
import { DirectoryCaStore } from './store.js';

describe('CA admin routes on the admin server', () => {
  let dir: string;
  let admin: AdminServers;
  let clock: ManualClock;
  let base: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-ca-admin-'));
    clock = new ManualClock(Date.now());
    const ca = await CertificateAuthority.open(new DirectoryCaStore(dir), {
      clock,
      maxTtlSeconds: 3600,
      defaultTtlSeconds: 3600,
    });
    admin = await startAdminServers({
      logger: silentLogger(),
      registry: new Registry(),
      readiness: new Readiness(),
      configDump: () => ({}),
      ports: { metrics: null, readiness: null, admin: 0 },
      adminRoutes: caAdminRoutes(ca),
    });
    base = `http://127.0.0.1:${admin.adminPort}`;
  });
  afterAll(async () => {
    await admin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (q: string) => fetch(`${base}/ca/rotate?${q}`, { method: 'POST' });

  it('reports status and runs the three stages, refusing early retirement unless forced', async () => {
    const status = await (await fetch(`${base}/ca/status`)).json();
    expect(status).toMatchObject({
      mode: 'self-signed',
      phase: 'steady',
      bundleVersion: 1,
      trustDomain: 'cluster.local',
    });
    expect((await fetch(`${base}/ca/rotate?stage=add`)).status).toBe(405);
    expect((await post('stage=bogus')).status).toBe(400);
    expect((await post('stage=switch')).status).toBe(409);
    expect(await (await post('stage=add')).json()).toMatchObject({ phase: 'added', bundleVersion: 2 });
    expect(await (await post('stage=switch')).json()).toMatchObject({ phase: 'switched' });
    const early = await post('stage=retire');
    expect(early.status).toBe(409);
    expect(await early.json()).toMatchObject({
      code: 'WEFT_CA_RETIRE_TOO_EARLY',
      details: { safeAt: expect.any(String) },
    });
    const forced = (await (await post('stage=retire&force=true')).json()) as { roots: unknown[] };
    expect(forced).toMatchObject({ phase: 'steady', bundleVersion: 3 });
    expect(forced.roots).toHaveLength(1);
  });
});
