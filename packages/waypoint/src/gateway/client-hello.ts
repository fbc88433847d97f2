/**
 * The TLS ClientHello as a gateway listener sees it before choosing a server (Envoy's tls_inspector):
 * the SNI and the offered ALPN protocols, read from the first handshake record(s) without consuming
 * them. Pure; the listener feeds it the bytes read so far until it decides.
 */

export type HelloResult =
  | { readonly kind: 'need-more' }
  | { readonly kind: 'not-tls' }
  | { readonly kind: 'hello'; readonly sni: string | undefined; readonly alpn: readonly string[] };

const NEED_MORE: HelloResult = { kind: 'need-more' };
const NOT_TLS: HelloResult = { kind: 'not-tls' };
/** A ClientHello larger than this is refused (Envoy's inspector reads at most 64 KiB). */
export const MAX_HELLO_BYTES = 64 * 1024;

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;

/** Joins the handshake bytes of consecutive records; undefined when the data is not TLS handshake records. */
function handshakeBytes(data: Buffer, need: number): Buffer | undefined | 'short' {
  const parts: Buffer[] = [];
  let have = 0;
  let off = 0;
  while (have < need) {
    if (data.length < off + 5) return 'short';
    if (data[off] !== RECORD_HANDSHAKE || data[off + 1] !== 0x03) return undefined;
    const len = data.readUInt16BE(off + 3);
    const end = off + 5 + len;
    parts.push(data.subarray(off + 5, Math.min(end, data.length)));
    have += Math.min(end, data.length) - (off + 5);
    if (end > data.length) return have >= need ? Buffer.concat(parts) : 'short';
    off = end;
  }
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}

function parseExtensions(ext: Buffer): HelloResult {
  let sni: string | undefined;
  const alpn: string[] = [];
  let off = 0;
  while (off + 4 <= ext.length) {
    const type = ext.readUInt16BE(off);
    const len = ext.readUInt16BE(off + 2);
    const body = ext.subarray(off + 4, off + 4 + len);
    if (body.length < len) return NOT_TLS;
    if (type === EXT_SERVER_NAME && body.length >= 2) {
      let p = 2;
      while (p + 3 <= body.length) {
        const nameType = body[p] as number;
        const nameLen = body.readUInt16BE(p + 1);
        if (nameType === 0 && p + 3 + nameLen <= body.length) {
          sni = body.toString('latin1', p + 3, p + 3 + nameLen).toLowerCase();
          break;
        }
        p += 3 + nameLen;
      }
    } else if (type === EXT_ALPN && body.length >= 2) {
      let p = 2;
      while (p < body.length) {
        const n = body[p] as number;
        if (p + 1 + n > body.length) break;
        alpn.push(body.toString('latin1', p + 1, p + 1 + n));
        p += 1 + n;
      }
    }
    off += 4 + len;
  }
  return { kind: 'hello', sni, alpn };
}

/** Classifies the bytes a client sent so far. */
export function parseClientHello(data: Buffer): HelloResult {
  if (data.length === 0) return NEED_MORE;
  if (data[0] !== RECORD_HANDSHAKE) return NOT_TLS;
  if (data.length > 1 && data[1] !== 0x03) return NOT_TLS;
  const head = handshakeBytes(data, 4);
  if (head === 'short') return data.length > MAX_HELLO_BYTES ? NOT_TLS : NEED_MORE;
  if (head === undefined || head[0] !== HANDSHAKE_CLIENT_HELLO) return NOT_TLS;
  const bodyLen = ((head[1] as number) << 16) | ((head[2] as number) << 8) | (head[3] as number);
  if (bodyLen + 4 > MAX_HELLO_BYTES) return NOT_TLS;
  const all = handshakeBytes(data, bodyLen + 4);
  if (all === 'short') return NEED_MORE;
  if (all === undefined) return NOT_TLS;
  const hello = all.subarray(4, 4 + bodyLen);
  // client_version(2) random(32) session_id cipher_suites compression_methods extensions
  let off = 34;
  if (hello.length < off + 1) return NOT_TLS;
  off += 1 + (hello[off] as number);
  if (hello.length < off + 2) return NOT_TLS;
  off += 2 + hello.readUInt16BE(off);
  if (hello.length < off + 1) return NOT_TLS;
  off += 1 + (hello[off] as number);
  if (hello.length < off + 2) return { kind: 'hello', sni: undefined, alpn: [] };
  const extLen = hello.readUInt16BE(off);
  return parseExtensions(hello.subarray(off + 2, off + 2 + extLen));
}
