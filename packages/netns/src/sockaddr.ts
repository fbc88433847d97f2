import { isIPv4, isIPv6 } from 'node:net';
import { NetnsError, NetnsErrorCode } from './errors.js';
import { AF_INET, AF_INET6 } from './libc.js';

export type Family = 4 | 6;

export interface SocketAddress {
  family: Family;
  address: string;
  port: number;
}

/** The family of a literal IP address; throws WEFT_NETNS_BAD_ADDRESS otherwise. */
export function familyOf(address: string): Family {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  throw new NetnsError(NetnsErrorCode.BadAddress, `${JSON.stringify(address)} is not an IP address`);
}

function ipv6Bytes(address: string, out: Buffer, offset: number): void {
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  const words: number[] = [];
  if (v4?.[1] !== undefined) {
    const p = v4[1].split('.').map(Number);
    text = `${text.slice(0, -v4[1].length)}${(((p[0] ?? 0) << 8) | (p[1] ?? 0)).toString(16)}:${(((p[2] ?? 0) << 8) | (p[3] ?? 0)).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  for (const w of h) words.push(Number.parseInt(w, 16));
  for (let i = 0; i < fill; i++) words.push(0);
  for (const w of t) words.push(Number.parseInt(w, 16));
  for (let i = 0; i < 8; i++) out.writeUInt16BE(words[i] ?? 0, offset + i * 2);
}

function ipv6Text(buf: Buffer, offset: number): string {
  const words: string[] = [];
  for (let i = 0; i < 8; i++) words.push(buf.readUInt16BE(offset + i * 2).toString(16));
  // Compress the longest run of zero words, as inet_ntop does.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best === -1) return words.join(':');
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
}

/** sockaddr_in / sockaddr_in6 bytes for bind(). */
export function encodeSockaddr(address: string, port: number): Buffer {
  const family = familyOf(address);
  if (family === 4) {
    const buf = Buffer.alloc(16);
    buf.writeUInt16LE(AF_INET, 0);
    buf.writeUInt16BE(port, 2);
    const parts = address.split('.');
    for (let i = 0; i < 4; i++) buf[4 + i] = Number(parts[i]);
    return buf;
  }
  const buf = Buffer.alloc(28);
  buf.writeUInt16LE(AF_INET6, 0);
  buf.writeUInt16BE(port, 2);
  ipv6Bytes(address, buf, 8);
  return buf;
}

/** Reads a sockaddr_in / sockaddr_in6 written by the kernel. */
export function decodeSockaddr(buf: Buffer): SocketAddress {
  const af = buf.readUInt16LE(0);
  const port = buf.readUInt16BE(2);
  if (af === AF_INET) return { family: 4, address: `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`, port };
  if (af === AF_INET6) {
    const mapped = buf.readUInt32BE(8) === 0 && buf.readUInt32BE(12) === 0 && buf.readUInt32BE(16) === 0xffff;
    if (mapped) return { family: 4, address: `${buf[20]}.${buf[21]}.${buf[22]}.${buf[23]}`, port };
    return { family: 6, address: ipv6Text(buf, 8), port };
  }
  throw new NetnsError(NetnsErrorCode.BadAddress, `unexpected address family ${af}`);
}
