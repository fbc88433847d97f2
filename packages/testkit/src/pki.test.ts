import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TestCa } from './pki.js';

describe('TestCa', () => {
  it('issues a SPIFFE workload certificate that chains to its root', async () => {
    const ca = await TestCa.create();
    const cred = await ca.workload('prod', 'orders');
    const leaf = new X509Certificate(cred.certPem);
    expect(leaf.subjectAltName).toBe('URI:spiffe://cluster.local/ns/prod/sa/orders');
    expect(leaf.subject ?? '').toBe('');
    expect(leaf.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cred.spiffeId).toBe('spiffe://cluster.local/ns/prod/sa/orders');
  });

  it('issues through an intermediate with the chain leaf first', async () => {
    const root = await TestCa.create();
    const inter = await root.intermediate();
    const cred = await inter.workload('ns', 'sa');
    const certs = cred.chainPem.match(/-----BEGIN CERTIFICATE-----/g) ?? [];
    expect(certs).toHaveLength(2);
    expect(inter.rootPem).toBe(root.certPem);
    const leaf = new X509Certificate(cred.certPem);
    expect(leaf.verify(new X509Certificate(inter.certPem).publicKey)).toBe(true);
  });

  it('issues RSA server certificates with DNS and IP SANs', async () => {
    const ca = await TestCa.create({ rsa: true });
    const cred = await ca.issue({
      dnsNames: ['test.com'],
      ipAddresses: ['127.0.0.1'],
      commonName: 'test.com',
      rsa: true,
    });
    const leaf = new X509Certificate(cred.certPem);
    expect(leaf.subjectAltName).toContain('DNS:test.com');
    expect(leaf.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(leaf.checkHost('test.com')).toBe('test.com');
  });
});
