/**
 * Values that repeat across thousands of resources, read once and shared: a node agent holds the same
 * namespace, node, service account, network and service keys on every workload of a namespace or service,
 * and the same port list on every endpoint of a service. Each full sync reads them all again; sharing them
 * means one string or list allocated and retained instead of one per workload (less to collect and copy
 * during the sync, less heap afterwards).
 *
 * Direct-mapped tables keyed by a hash of the wire bytes: a hit needs the bytes to match exactly, a miss
 * decodes as usual and takes the slot. The tables are bounded (a slot holds one entry) and process-wide.
 */
import type { BinaryReader } from '@bufbuild/protobuf/wire';

const STRING_SLOTS = 1 << 14;
/** Longer strings are rarely shared (uids, names); they decode as usual. */
const MAX_SHARED_STRING = 96;
const strings: (string | undefined)[] = new Array<string | undefined>(STRING_SLOTS).fill(undefined);

/**
 * `reader.string()`, sharing short ASCII strings: the same text as `reader.string()` returns, and the same
 * errors (anything not short ASCII goes through it). `buf` is the reader's buffer.
 */
export function readSharedString(reader: BinaryReader, buf: Uint8Array): string {
  const at = reader.pos;
  const len = reader.uint32();
  const start = reader.pos;
  const end = start + len;
  if (len === 0) return '';
  if (len > MAX_SHARED_STRING || end > reader.len) {
    reader.pos = at;
    return reader.string();
  }
  let h = 0x811c9dc5 ^ len;
  for (let i = start; i < end; i++) {
    const b = buf[i] as number;
    if (b > 0x7f) {
      reader.pos = at;
      return reader.string();
    }
    h = Math.imul(h ^ b, 0x01000193);
  }
  const slot = (h ^ (h >>> 15)) & (STRING_SLOTS - 1);
  const hit = strings[slot];
  reader.pos = end;
  if (hit !== undefined && hit.length === len) {
    let i = 0;
    while (i < len && hit.charCodeAt(i) === buf[start + i]) i++;
    if (i === len) return hit;
  }
  const text = String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
  strings[slot] = text;
  return text;
}

const LIST_SLOTS = 1 << 10;
const MAX_SHARED_BYTES = 64;

/** Values decoded from short byte strings, shared by those bytes (e.g. a service's port list). */
export class SharedByBytes<T> {
  readonly #keys: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(LIST_SLOTS).fill(undefined);
  readonly #values: (T | undefined)[] = new Array<T | undefined>(LIST_SLOTS).fill(undefined);

  /**
   * The value for `buf[start, end)`: a shared one when these bytes were decoded before, else `decode()`'s,
   * kept for next time. Values must not be changed by their users (they are frozen by the caller).
   */
  get(buf: Uint8Array, start: number, end: number, decode: () => T): T {
    const len = end - start;
    if (len > MAX_SHARED_BYTES) return decode();
    let h = 0x811c9dc5 ^ len;
    for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
    const slot = (h ^ (h >>> 15)) & (LIST_SLOTS - 1);
    const key = this.#keys[slot];
    if (key !== undefined && key.length === len) {
      let i = 0;
      while (i < len && key[i] === buf[start + i]) i++;
      if (i === len) return this.#values[slot] as T;
    }
    const value = decode();
    this.#keys[slot] = buf.slice(start, end);
    this.#values[slot] = value;
    return value;
  }
}
