import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import { describe, expect, it } from 'vitest';
import { readSharedString, SharedByBytes } from './intern.js';

/** Length-delimited strings back to back, as they sit in a message. */
function encoded(texts: readonly string[]): Uint8Array {
  const w = new BinaryWriter();
  for (const t of texts) w.string(t);
  return w.finish();
}

describe('readSharedString', () => {
  it('reads what reader.string() reads, and hands back one string for the same bytes', () => {
    const texts = [
      'prod',
      'node1',
      '',
      'prod',
      'é-not-ascii',
      'x'.repeat(200),
      'prod/a.svc',
      'node1',
      'node2',
    ];
    for (let i = 0; i < 3000; i++) texts.push(`ns-${i % 37}/svc-${i % 101}`, `sa-${i}`);
    const bytes = encoded(texts);
    const shared = new BinaryReader(bytes);
    const plain = new BinaryReader(bytes);
    const seen = new Map<string, string>();
    let sameObject = 0;
    for (const t of texts) {
      const a = readSharedString(shared, bytes);
      expect(a).toBe(plain.string());
      expect(a).toBe(t);
      if (seen.get(t) === a) sameObject++;
      seen.set(t, a);
    }
    expect(shared.pos).toBe(bytes.length);
    expect(sameObject).toBeGreaterThan(0);
  });

  it('fails like reader.string() on a truncated field', () => {
    const bytes = encoded(['namespace']).subarray(0, 5);
    expect(() => readSharedString(new BinaryReader(bytes), bytes)).toThrow(/premature EOF/);
  });
});

describe('SharedByBytes', () => {
  it('decodes once per byte string and never mixes up different bytes', () => {
    const table = new SharedByBytes<string>();
    let decodes = 0;
    const get = (b: Uint8Array) =>
      table.get(b, 0, b.length, () => {
        decodes++;
        return Buffer.from(b).toString('hex');
      });
    const inputs = Array.from({ length: 5000 }, (_, i) => Uint8Array.of(i & 0xff, (i >> 8) & 0xff, 7));
    for (const b of inputs) expect(get(b)).toBe(Buffer.from(b).toString('hex'));
    const before = decodes;
    expect(get(Uint8Array.of(4, 19, 7))).toBe('041307');
    expect(decodes).toBe(before);
  });
});
