/**
 * Just enough DER to read CSRs and certificates and to write certificates from a template. The CA signs
 * thousands of certificates a second with this; a general ASN.1 library costs several times more.
 */

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One element: its tag, where its value starts and ends, and where the whole element starts. */
export interface Tlv {
  tag: number;
  start: number;
  valueStart: number;
  end: number;
}

export class DerError extends Error {}

/** Reads the element at `offset`, checking that it fits inside `limit`. */
export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  if (offset + 2 > limit) throw new DerError('truncated DER element');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not supported');
  let len = buf[offset + 1]!;
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError('bad DER length');
    if (pos + n > limit) throw new DerError('truncated DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + i]!;
    pos += n;
  }
  if (pos + len > limit) throw new DerError('DER element longer than its container');
  return { tag, start: offset, valueStart: pos, end: pos + len };
}

/** The children of a constructed element. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let pos = parent.valueStart;
  while (pos < parent.end) {
    const child = readTlv(buf, pos, parent.end);
    out.push(child);
    pos = child.end;
  }
  return out;
}

export function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (t === undefined || t.tag !== tag) throw new DerError(`expected ${what}`);
  return t;
}

/** Dotted form of an OBJECT IDENTIFIER's value bytes. */
export function oidToString(buf: Uint8Array, t: Tlv): string {
  const parts: number[] = [];
  let value = 0;
  for (let i = t.valueStart; i < t.end; i++) {
    const b = buf[i]!;
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

export function slice(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.start, t.end);
}

export function value(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.valueStart, t.end);
}

// --- writing -------------------------------------------------------------------------------------------

function lengthBytes(len: number): number[] {
  if (len < 0x80) return [len];
  const out: number[] = [];
  for (let n = len; n > 0; n = Math.floor(n / 256)) out.unshift(n & 0xff);
  return [0x80 | out.length, ...out];
}

/** An element from its tag and already-encoded content parts. */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  const header = Buffer.from([tag, ...lengthBytes(len)]);
  return Buffer.concat([header, ...parts], header.length + len);
}

export function seq(...parts: Uint8Array[]): Buffer {
  return tlv(TAG.SEQUENCE, ...parts);
}

export function oid(dotted: string): Buffer {
  const nums = dotted.split('.').map(Number);
  const bytes: number[] = [];
  const first = (nums[0] ?? 0) * 40 + (nums[1] ?? 0);
  for (const n of [first, ...nums.slice(2)]) {
    const group: number[] = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) group.unshift(0x80 | (v & 0x7f));
    bytes.push(...group);
  }
  return tlv(TAG.OID, Buffer.from(bytes));
}

/** A positive INTEGER from big-endian magnitude bytes. */
export function unsignedInteger(bytes: Uint8Array): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const trimmed = bytes.subarray(i);
  return (trimmed[0] ?? 0) & 0x80
    ? tlv(TAG.INTEGER, Buffer.from([0]), trimmed)
    : tlv(TAG.INTEGER, trimmed.length === 0 ? Buffer.from([0]) : trimmed);
}

export function bitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  return tlv(TAG.BIT_STRING, Buffer.from([unusedBits]), bytes);
}

export function octetString(bytes: Uint8Array): Buffer {
  return tlv(TAG.OCTET_STRING, bytes);
}

/** RFC 5280: UTCTime through 2049, GeneralizedTime after. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-11-26T05:14:49.123Z
  const compact = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050
    ? tlv(TAG.UTC_TIME, Buffer.from(compact.slice(2), 'ascii'))
    : tlv(TAG.GENERALIZED_TIME, Buffer.from(compact, 'ascii'));
}

export function contextExplicit(n: number, ...parts: Uint8Array[]): Buffer {
  return tlv(0xa0 | n, ...parts);
}

export function contextPrimitive(n: number, bytes: Uint8Array): Buffer {
  return tlv(0x80 | n, bytes);
}
