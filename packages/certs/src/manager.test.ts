import { Registry } from '@weft/telemetry';
import { TestCa } from '@weft/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { generateKeyAndCsr, type KeyAndCsr } from './csr.js';
import { CertificateManager } from './manager.js';
import { CsrSigner } from './testing.js';
import { TrustBundle } from './trust-bundle.js';

const ID = 'spiffe://cluster.local/ns/prod/sa/orders';
const HOUR = 3600_000;

/** Bounded polling of a condition (the test signer's WebCrypto runs off the main thread). */
async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setTimeout(r, 2));
  }
}

async function settle(): Promise<void> {
  // With a precomputed key every step is a promise continuation: a bounded number of turns finishes them.
  for (let i = 0; i < 50; i++) await new Promise<void>((r) => setImmediate(r));
}

describe('CertificateManager', () => {
  let ca: TestCa;
  let key: KeyAndCsr;
  beforeAll(async () => {
    key = await generateKeyAndCsr(ID);
    // The CA must be valid at the manual clock's time (2030).
    ca = await TestCa.create({ notBefore: new Date(Date.UTC(2029, 0, 1)), ttlSeconds: 10 * 365 * 86400 });
  });

  function setup(opts: Partial<ConstructorParameters<typeof CertificateManager>[0]> = {}) {
    const clock = new ManualClock();
    const signer = new CsrSigner(ca, () => clock.now());
    const bundle = new TrustBundle(ca.certPem);
    const registry = new Registry();
    const mgr = new CertificateManager({
      signer,
      bundle,
      clock,
      ttlSeconds: 3600,
      random: () => 0.5,
      registry,
      keygen: async () => key,
      ...opts,
    });
    return { clock, signer, bundle, registry, mgr };
  }

  it('fetches once for concurrent callers and caches', async () => {
    const { mgr, signer } = setup();
    const [a, b, c] = await Promise.all([
      mgr.getCertificate(ID),
      mgr.getCertificate(ID),
      mgr.getCertificate(ID),
    ]);
    expect(signer.calls).toBe(1);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(await mgr.getCertificate(ID)).toBe(a);
    expect(a.chainPem).toHaveLength(1);
    expect(a.notAfter - a.notBefore).toBe(HOUR);
    expect(mgr.secureContext(ID)).toBe(mgr.secureContext(ID));
    mgr.close();
  });

  it('keeps at most 8 CSRs in flight', async () => {
    const { mgr, signer } = setup();
    let open!: () => void;
    signer.gate = new Promise((r) => {
      open = r;
    });
    const all = Array.from({ length: 20 }, (_, i) =>
      mgr.getCertificate(`spiffe://cluster.local/ns/n/sa/s${i}`),
    );
    await settle();
    expect(signer.inFlight).toBe(8);
    open();
    await Promise.all(all);
    expect(signer.maxInFlight).toBe(8);
    expect(signer.calls).toBe(20);
    mgr.close();
  });

  it('renews at half the lifetime and builds a new SecureContext', async () => {
    const { mgr, clock, registry } = setup();
    const rotations: string[] = [];
    mgr.onRotation((c, prev) => rotations.push(`${prev?.serial}->${c.serial}`));
    const first = await mgr.getCertificate(ID);
    const ctx1 = mgr.secureContext(ID);
    clock.advance(HOUR * 0.5 - 1000);
    await settle();
    expect(mgr.current(ID)).toBe(first);
    clock.advance(2000);
    await waitFor(() => mgr.current(ID) !== first, 'renewal');
    const second = mgr.current(ID)!;
    expect(second.serial).not.toBe(first.serial);
    expect(rotations).toEqual([`undefined->${first.serial}`, `${first.serial}->${second.serial}`]);
    expect(mgr.secureContext(ID)).not.toBe(ctx1);
    const text = await registry.metrics();
    expect(text).toMatch(
      /weft_cert_rotations_total\{identity="spiffe:\/\/cluster.local\/ns\/prod\/sa\/orders"\} 1/,
    );
    expect(text).toContain(`weft_cert_expiry_timestamp_seconds{identity="${ID}"} ${second.notAfter / 1000}`);
    mgr.close();
  });

  it('keeps the current certificate when the CA fails, backing off up to 150 s', async () => {
    const { mgr, clock, signer, registry } = setup({ ttlSeconds: 24 * 3600 });
    const first = await mgr.getCertificate(ID);
    signer.fail = Object.assign(new Error('down'), { code: 'WEFT_CERTS_CA_UNAVAILABLE' });
    clock.set(first.notBefore + 12 * HOUR + 1);
    await settle();
    expect(signer.calls).toBe(2);
    expect(mgr.current(ID)).toBe(first);
    // Retries: 1, 2, 4 … s (×1.05 jitter), capped at 150 s.
    const times: number[] = [];
    for (let i = 0; i < 12; i++) {
      const before = signer.calls;
      const start = clock.now();
      while (signer.calls === before) {
        clock.advance(500);
        await settle();
      }
      times.push(clock.now() - start);
    }
    expect(times[0]).toBeLessThanOrEqual(1500);
    expect(times[1]).toBeGreaterThan(times[0]!);
    expect(Math.max(...times)).toBeLessThanOrEqual(150_000);
    expect(times.at(-1)).toBeGreaterThanOrEqual(149_500);
    expect(mgr.current(ID)).toBe(first);
    expect(await registry.metrics()).toMatch(
      /weft_ca_client_errors_total\{code="WEFT_CERTS_CA_UNAVAILABLE"\} 13/,
    );
    // The CA comes back: the next retry replaces the certificate.
    signer.fail = undefined;
    clock.advance(150_000);
    await waitFor(() => mgr.current(ID) !== first, 'renewal after the CA recovered');
    expect(mgr.current(ID)?.serial).not.toBe(first.serial);
    mgr.close();
  });

  it('fails fast without a certificate while backing off, and recovers', async () => {
    const { mgr, clock, signer } = setup();
    signer.fail = new Error('CA down');
    await expect(mgr.getCertificate(ID)).rejects.toThrow('CA down');
    await expect(mgr.getCertificate(ID)).rejects.toThrow('CA down');
    expect(signer.calls).toBe(1);
    signer.fail = undefined;
    clock.advance(1100);
    await waitFor(() => mgr.current(ID) !== undefined, 'the retry');
    expect(signer.calls).toBe(2);
    mgr.close();
  });

  it('rejects a bad chain from the CA and does not use it', async () => {
    const { mgr, signer } = setup();
    signer.tamper = { identity: 'spiffe://cluster.local/ns/prod/sa/admin' };
    await expect(mgr.getCertificate(ID)).rejects.toMatchObject({ code: 'WEFT_CERTS_IDENTITY_MISMATCH' });
    expect(mgr.current(ID)).toBeUndefined();
    await expect(mgr.getCertificate('not-an-id')).rejects.toMatchObject({ code: 'WEFT_IDENTITY_INVALID' });
    mgr.close();
  });

  it('renews at once when the root of its certificate leaves the bundle', async () => {
    const { mgr, signer, bundle } = setup();
    const newRoot = await TestCa.create({ name: 'New Root', notBefore: new Date(Date.UTC(2029, 0, 1)) });
    const first = await mgr.getCertificate(ID);
    const seen: number[] = [];
    mgr.onBundleChange((b) => seen.push(b.version));
    bundle.update([ca.certPem, newRoot.certPem]);
    signer.ca = newRoot;
    await settle();
    expect(mgr.current(ID)).toBe(first);
    bundle.update([newRoot.certPem]);
    await waitFor(() => mgr.current(ID) !== first, 'renewal from the new root');
    expect(mgr.current(ID)?.rootPem).toBe(bundle.roots[0]);
    expect(seen).toEqual([1, 2]);
    mgr.close();
  });

  it('forgets an identity: no more renewals', async () => {
    const { mgr, clock, signer } = setup();
    await mgr.getCertificate(ID);
    mgr.forget(ID);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(HOUR);
    await settle();
    expect(signer.calls).toBe(1);
    expect(mgr.current(ID)).toBeUndefined();
    mgr.close();
  });
});
