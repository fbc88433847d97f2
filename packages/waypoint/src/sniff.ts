/**
 * Protocol detection on the first bytes a client sends, as Envoy's http_inspector does: the HTTP/2
 * connection preface, or an HTTP/1.x request line. Pure; the shell feeds it chunks until it decides.
 */
import type { AppProtocol } from '@weft/config';

export type SniffResult = 'http1' | 'http2' | 'tcp' | 'need-more';
export type L7Protocol = 'http1' | 'http2' | 'tcp';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT'];
const MAX_METHOD = 8;
/** An HTTP/1 request line longer than this without " HTTP/1." is not HTTP (Envoy inspects 8 KiB). */
export const SNIFF_LIMIT = 8192;

function isPrefixOf(data: Buffer, pattern: Buffer): boolean {
  const n = Math.min(data.length, pattern.length);
  return data.compare(pattern, 0, n, 0, n) === 0;
}

function sniffHttp1(data: Buffer): SniffResult {
  const space = data.indexOf(0x20);
  if (space === -1) {
    if (data.length > MAX_METHOD) return 'tcp';
    const head = data.toString('latin1');
    return METHODS.some((m) => m.startsWith(head)) ? 'need-more' : 'tcp';
  }
  const method = data.toString('latin1', 0, space);
  if (!METHODS.includes(method)) return 'tcp';
  const eol = data.indexOf('\r\n', space, 'latin1');
  if (eol === -1) return data.length > SNIFF_LIMIT ? 'tcp' : 'need-more';
  const line = data.toString('latin1', space + 1, eol);
  return / HTTP\/1\.[01]$/.test(line) ? 'http1' : 'tcp';
}

/** Classifies the bytes seen so far. */
export function sniff(data: Buffer): SniffResult {
  if (data.length === 0) return 'need-more';
  if (data[0] === 0x50 /* P */ && isPrefixOf(data, H2_PREFACE)) {
    return data.length >= H2_PREFACE.length ? 'http2' : 'need-more';
  }
  return sniffHttp1(data);
}

/**
 * What a service port declares (appProtocol or port-name prefix): 'http' (HTTP/1.1 or HTTP/2, told apart
 * by the preface, as Envoy's AUTO codec does), 'tcp', or undefined (unknown: sniff).
 */
export function declaredProtocol(appProtocol: AppProtocol | undefined): 'http' | 'tcp' | undefined {
  switch (appProtocol) {
    case 'HTTP11':
    case 'HTTP2':
    case 'GRPC':
      return 'http';
    case 'TCP':
    case 'TLS':
      return 'tcp';
    default:
      return undefined;
  }
}

/** For a port declared HTTP: the preface decides HTTP/2, anything else is handed to the HTTP/1 parser. */
export function sniffDeclaredHttp(data: Buffer): SniffResult {
  if (data.length === 0) return 'need-more';
  if (data[0] === 0x50 && isPrefixOf(data, H2_PREFACE)) {
    return data.length >= H2_PREFACE.length ? 'http2' : 'need-more';
  }
  return 'http1';
}
