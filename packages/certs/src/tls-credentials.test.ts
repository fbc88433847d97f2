import { TestCa } from '@weft/testkit';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { generateKeyAndCsr } from './csr.js';
import { CertificateManager } from './manager.js';
import { TrustDomains } from './spiffe.js';
import { CsrSigner } from './testing.js';
import { tlsCredentials } from './tls-credentials.js';
import { TrustBundle } from './trust-bundle.js';

const ID = 'spiffe://cluster.local/ns/prod/sa/orders';

describe('tlsCredentials (what @weft/hbone consumes)', () => {
  it('follows rotations, lists trust domains and roots, and says when no certificate is left', async () => {
    const ca = await TestCa.create({ notBefore: new Date(Date.UTC(2029, 0, 1)) });
    const key = await generateKeyAndCsr(ID);
    const clock = new ManualClock();
    const signer = new CsrSigner(ca, () => clock.now());
    const mgr = new CertificateManager({
      signer,
      bundle: new TrustBundle(ca.certPem),
      clock,
      ttlSeconds: 3600,
      keygen: async () => key,
      backoff: { initialMs: 3600_000, maxMs: 3600_000 },
      // No jitter: renewal at exactly 50% (1,800 s), so advancing 1,900 s always crosses it.
      random: () => 0.5,
    });
    const creds = await tlsCredentials(mgr, ID, new TrustDomains('cluster.local', ['old.example']));
    expect(creds.identity).toBe(ID);
    expect(creds.trustDomains()).toEqual(['cluster.local', 'old.example']);
    expect(creds.trustedRoots()).toHaveLength(1);
    const first = creds.secureContext();
    expect(creds.secureContext()).toBe(first);

    const rotated = new Promise<void>((resolve) => mgr.onRotation(() => resolve()));
    clock.advance(1_900_000);
    await rotated;
    expect(creds.secureContext()).not.toBe(first);

    // The CA goes away and the certificate expires: no SecureContext, a clear error.
    signer.fail = new Error('CA down');
    clock.advance(3 * 3600_000);
    expect(() => creds.secureContext()).toThrow(
      expect.objectContaining({ code: 'WEFT_CERTS_NO_CERTIFICATE' }),
    );
    mgr.close();
  });
});
