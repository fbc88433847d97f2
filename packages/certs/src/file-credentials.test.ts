import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '@weft/telemetry';
import { TestCa } from '@weft/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FileCertificateClient } from './file-credentials.js';
import type { WorkloadCertificate } from './types.js';

/** Writes a Secret volume the way kubelet does: files in a timestamped dir, `..data` swapped by rename. */
function writeSecret(dir: string, version: number, files: Record<string, string>): void {
  const target = `..2026_11_26_${version}`;
  mkdirSync(join(dir, target));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, target, name), text);
  symlinkSync(target, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files)) {
    try {
      symlinkSync(join('..data', name), join(dir, name));
    } catch {
      // already linked through ..data
    }
  }
}

describe('FileCertificateClient', () => {
  let ca: TestCa;
  let dir: string;
  let client: FileCertificateClient | undefined;
  beforeAll(async () => {
    ca = await TestCa.create();
  });
  afterEach(() => {
    client?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('loads tls.crt/tls.key/ca.crt and follows an atomic ..data swap', async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-certs-'));
    const one = await ca.issue({ dnsNames: ['gw.example'] });
    writeSecret(dir, 1, { 'tls.crt': one.chainPem, 'tls.key': one.keyPem, 'ca.crt': ca.certPem });
    const registry = new Registry();
    client = new FileCertificateClient({ dir, name: 'gw-cred', registry });
    await client.start();
    const cert = await client.getCertificate('gw-cred');
    expect(cert.serial).toBe(one.serial.toUpperCase());
    expect(client.trustBundle().roots).toHaveLength(1);
    const ctx = client.secureContext('gw-cred');
    expect(ctx).toBeDefined();

    const rotated = new Promise<WorkloadCertificate>((resolve) => client!.onRotation((c) => resolve(c)));
    const two = await ca.issue({ dnsNames: ['gw.example'] });
    writeSecret(dir, 2, { 'tls.crt': two.chainPem, 'tls.key': two.keyPem, 'ca.crt': ca.certPem });
    expect((await rotated).serial).toBe(two.serial.toUpperCase());
    expect(client.secureContext('gw-cred')).not.toBe(ctx);
    expect(await registry.metrics()).toContain('weft_cert_rotations_total{identity="gw-cred"} 1');
  });

  it('keeps the last good credentials when an update is broken', async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-certs-'));
    const one = await ca.issue({ dnsNames: ['gw.example'] });
    const other = await ca.issue({ dnsNames: ['gw.example'] });
    writeSecret(dir, 1, { 'tls.crt': one.chainPem, 'tls.key': one.keyPem });
    client = new FileCertificateClient({ dir, name: 'gw' });
    await client.start();
    writeSecret(dir, 2, { 'tls.crt': one.chainPem, 'tls.key': other.keyPem });
    await client.reload();
    expect(client.current('gw')?.serial).toBe(one.serial.toUpperCase());
    writeSecret(dir, 3, { 'tls.crt': 'garbage', 'tls.key': one.keyPem });
    await client.reload();
    expect(client.current('gw')?.serial).toBe(one.serial.toUpperCase());
    await expect(client.getCertificate('other')).rejects.toMatchObject({
      code: 'WEFT_CERTS_UNKNOWN_IDENTITY',
    });
  });

  it('refuses to start on a key that does not match', async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-certs-'));
    const one = await ca.issue({ dnsNames: ['gw.example'] });
    const other = await ca.issue({ dnsNames: ['gw.example'] });
    writeSecret(dir, 1, { 'tls.crt': one.chainPem, 'tls.key': other.keyPem });
    client = new FileCertificateClient({ dir, name: 'gw' });
    await expect(client.start()).rejects.toMatchObject({ code: 'WEFT_CERTS_KEY_MISMATCH' });
  });
});
