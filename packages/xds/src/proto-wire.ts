/**
 * Protobuf wire primitives shared by the hand-written encoders (wire.ts, address-encode.ts) and decoders
 * (wire.ts, address-decode.ts).
 */

/** Bytes of the varint holding `v` (a uint32: a tag, a length, a checked port or enum value). */
export function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Writes `v` (a uint32) as a varint at `at`; returns the next offset. */
export function putVarint(buf: Uint8Array, at: number, v: number): number {
  while (v > 0x7f) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at] = v;
  return at + 1;
}

/** Where the generated decoders stop reading a message: an end-group tag or tag 0. */
export const stops = (tag: number): boolean => (tag & 7) === 4 || tag === 0;
