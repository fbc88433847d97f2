/**
 * IP addresses and CIDR ranges as numbers: IPv4 as one uint32, IPv6 as four uint32 words, so a
 * range check is a few integer compares. IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what Node reports on
 * dual-stack sockets) is treated as IPv4.
 */

/** A parsed address: `v4` set for IPv4, `v6` (4 words) for IPv6. */
export interface IpAddr {
  readonly v4: number;
  readonly v6: readonly [number, number, number, number] | null;
}

export interface CidrRange {
  readonly v6: boolean;
  /** Network words (1 for IPv4, 4 for IPv6), already masked. */
  readonly net: readonly number[];
  readonly mask: readonly number[];
  /** Raw address bytes and prefix length, for the L4 model. */
  readonly bytes: Uint8Array;
  readonly length: number;
}

export function parseIpv4(s: string): number | null {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return null;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return null; // no leading zeros (ambiguous octal)
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return null;
    } else return null;
  }
  if (dots !== 3 || digits === 0) return null;
  return value * 256 + part;
}

function parseIpv6(s: string): [number, number, number, number] | null {
  if (s.length < 2 || s.length > 45) return null;
  const groups: number[] = [];
  let tail: number[] | null = null;
  let rest = s;
  const dbl = s.indexOf('::');
  if (dbl !== -1) {
    if (s.indexOf('::', dbl + 1) !== -1) return null;
    tail = [];
    const head = s.slice(0, dbl);
    const after = s.slice(dbl + 2);
    if (head !== '' && !pushGroups(head, groups, false)) return null;
    if (after !== '' && !pushGroups(after, tail, true)) return null;
    rest = '';
  }
  if (tail === null && !pushGroups(rest, groups, true)) return null;
  const all =
    tail === null
      ? groups
      : groups.length + tail.length >= 8
        ? null
        : [...groups, ...new Array<number>(8 - groups.length - tail.length).fill(0), ...tail];
  if (all === null || all.length !== 8) return null;
  return [
    (all[0]! * 65536 + all[1]!) >>> 0,
    (all[2]! * 65536 + all[3]!) >>> 0,
    (all[4]! * 65536 + all[5]!) >>> 0,
    (all[6]! * 65536 + all[7]!) >>> 0,
  ];
}

function pushGroups(s: string, out: number[], allowV4Tail: boolean): boolean {
  const parts = s.split(':');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (allowV4Tail && i === parts.length - 1 && p.includes('.')) {
      const v4 = parseIpv4(p);
      if (v4 === null) return false;
      out.push(Math.floor(v4 / 65536), v4 % 65536);
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return false;
    out.push(Number.parseInt(p, 16));
  }
  return true;
}

const V4_MAPPED_HI = [0, 0, 0xffff];

/** Parses an IPv4 or IPv6 address (no zone, no brackets); null when it is not one. */
export function parseIp(s: string): IpAddr | null {
  const v4 = parseIpv4(s);
  if (v4 !== null) return { v4, v6: null };
  const v6 = parseIpv6(s);
  if (v6 === null) return null;
  if (v6[0] === V4_MAPPED_HI[0] && v6[1] === V4_MAPPED_HI[1] && v6[2] === V4_MAPPED_HI[2]) {
    return { v4: v6[3], v6: null };
  }
  return { v4: 0, v6 };
}

function maskWord(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

/** Parses `10.0.0.0/8`, `2001:db8::/32` or a bare IP (full-length prefix); null when invalid. */
export function parseCidr(s: string): CidrRange | null {
  const slash = s.indexOf('/');
  const addrText = slash === -1 ? s : s.slice(0, slash);
  const ip4 = parseIpv4(addrText);
  const ip6 = ip4 === null ? parseIpv6(addrText) : null;
  if (ip4 === null && ip6 === null) return null;
  const max = ip4 !== null ? 32 : 128;
  let length = max;
  if (slash !== -1) {
    const lenText = s.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(lenText)) return null;
    length = Number(lenText);
    if (length > max) return null;
  }
  if (ip4 !== null) {
    const mask = maskWord(length);
    const net = (ip4 & mask) >>> 0;
    return { v6: false, net: [net], mask: [mask], bytes: wordsToBytes([ip4]), length };
  }
  const words = ip6!;
  const mask = [0, 1, 2, 3].map((i) => maskWord(length - i * 32));
  const net = words.map((w, i) => (w & mask[i]!) >>> 0);
  return { v6: true, net, mask, bytes: wordsToBytes(words), length };
}

function wordsToBytes(words: readonly number[]): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  words.forEach((w, i) => {
    out[i * 4] = w >>> 24;
    out[i * 4 + 1] = (w >>> 16) & 0xff;
    out[i * 4 + 2] = (w >>> 8) & 0xff;
    out[i * 4 + 3] = w & 0xff;
  });
  return out;
}

/** Builds a range from the L4 model's `{address bytes, length}` (no string round trip). */
export function cidrFromBytes(address: Uint8Array, length: number): CidrRange | null {
  if (address.length !== 4 && address.length !== 16) return null;
  const v6 = address.length === 16;
  if (length < 0 || length > (v6 ? 128 : 32)) return null;
  const words: number[] = [];
  for (let i = 0; i < address.length; i += 4) {
    words.push(
      ((address[i]! << 24) | (address[i + 1]! << 16) | (address[i + 2]! << 8) | address[i + 3]!) >>> 0,
    );
  }
  const mask = words.map((_, i) => maskWord(length - i * 32));
  const net = words.map((w, i) => (w & mask[i]!) >>> 0);
  return { v6, net, mask, bytes: address, length };
}

export function cidrContains(range: CidrRange, ip: IpAddr): boolean {
  if (!range.v6) return ip.v6 === null && (ip.v4 & range.mask[0]!) >>> 0 === range.net[0];
  const w = ip.v6;
  if (w === null) return false;
  for (let i = 0; i < 4; i++) if ((w[i]! & range.mask[i]!) >>> 0 !== range.net[i]) return false;
  return true;
}

export function anyCidrContains(ranges: readonly CidrRange[], ip: IpAddr | null): boolean {
  if (ip === null) return false;
  for (let i = 0; i < ranges.length; i++) if (cidrContains(ranges[i]!, ip)) return true;
  return false;
}
