import { TestCa } from '@weft/testkit';
import { describe, expect, it } from 'vitest';
import { TrustBundle } from './trust-bundle.js';

describe('TrustBundle', () => {
  it('holds several roots, dedupes them, versions changes, and notifies', async () => {
    const a = await TestCa.create({ name: 'A' });
    const b = await TestCa.create({ name: 'B' });
    const bundle = new TrustBundle([a.certPem, a.certPem]);
    expect(bundle.roots).toHaveLength(1);
    const seen: number[] = [];
    bundle.onChange((s) => seen.push(s.version));
    expect(bundle.update(a.certPem + b.certPem)).toBe(true);
    expect(bundle.update([a.certPem, b.certPem])).toBe(false);
    expect(bundle.update([b.certPem], 10)).toBe(true);
    expect(bundle.update([a.certPem, b.certPem], 3)).toBe(true);
    expect(seen).toEqual([1, 10, 11]);
    expect(bundle.has(new (await import('node:crypto')).X509Certificate(b.certPem))).toBe(true);
  });

  it('refuses an empty update and non-CA certificates, keeping the current roots', async () => {
    const a = await TestCa.create();
    const leaf = await a.workload('ns', 'sa');
    const bundle = new TrustBundle(a.certPem);
    expect(() => bundle.update([])).toThrow(expect.objectContaining({ code: 'WEFT_CERTS_BAD_ROOT' }));
    expect(() => bundle.update(leaf.certPem)).toThrow(
      expect.objectContaining({ code: 'WEFT_CERTS_BAD_ROOT' }),
    );
    expect(bundle.roots).toHaveLength(1);
    expect(bundle.version).toBe(0);
  });
});
