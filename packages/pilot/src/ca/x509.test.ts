import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyAndCsr, parseCsr, toPem } from '@weft/certs';
import { describe, expect, it } from 'vitest';
import { buildCertificate, createRoot, issuerFrom } from './x509.js';

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('template-built certificates', () => {
  it('a root and a SPIFFE leaf that Node and OpenSSL both accept', async () => {
    const now = Date.now();
    const root = createRoot({
      commonName: 'Test Root',
      organization: 'cluster.local',
      notBefore: new Date(now - 1000),
      notAfter: new Date(now + 3600_000),
    });
    const rootCert = new X509Certificate(root.certPem);
    expect(rootCert.ca).toBe(true);
    expect(rootCert.verify(rootCert.publicKey)).toBe(true);
    const id = 'spiffe://cluster.local/ns/prod/sa/orders';
    const { csrPem } = await generateKeyAndCsr(id);
    const leafDer = buildCertificate(
      {
        spki: parseCsr(csrPem).spki,
        notBefore: new Date(now - 1000),
        notAfter: new Date(now + 60_000),
        uris: [id],
      },
      issuerFrom(rootCert.raw, root.keyPem),
    );
    const leaf = new X509Certificate(leafDer);
    expect(leaf.subject ?? '').toBe('');
    expect(leaf.subjectAltName).toBe(`URI:${id}`);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(rootCert)).toBe(true);
    expect(leaf.verify(rootCert.publicKey)).toBe(true);
    expect(leaf.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));

    const serving = buildCertificate(
      {
        spki: parseCsr(csrPem).spki,
        notBefore: new Date(now - 1000),
        notAfter: new Date(now + 60_000),
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1', '::1'],
      },
      issuerFrom(rootCert.raw, root.keyPem),
    );
    expect(new X509Certificate(serving).subjectAltName).toBe(
      'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );

    if (!hasOpenssl) return;
    const dir = mkdtempSync(join(tmpdir(), 'weft-x509-'));
    try {
      writeFileSync(join(dir, 'root.pem'), root.certPem);
      writeFileSync(join(dir, 'leaf.pem'), toPem('CERTIFICATE', leafDer));
      const out = execFileSync('openssl', [
        'verify',
        '-x509_strict',
        '-CAfile',
        join(dir, 'root.pem'),
        join(dir, 'leaf.pem'),
      ]).toString();
      expect(out).toContain('OK');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
