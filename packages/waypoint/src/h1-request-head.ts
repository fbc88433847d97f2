/**
 * The HTTP/1.1 request head the waypoint sends upstream, written straight from the parsed request headers
 * into one string (no intermediate header object): hop-by-hop headers and the names the Connection header
 * lists are dropped (RFC 9110 §7.6.1), policy edits applied, `x-forwarded-proto` and `x-request-id` added
 * when missing, and the body framing declared. Pure. The same rules as headers.ts `upstreamRequestHeaders`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { type HeaderEdits, HOP_BY_HOP } from './headers.js';

/** How a request body is framed upstream: none, Content-Length passed through, or chunked. */
export type BodyKind = 'none' | 'length' | 'chunked';

// Methods whose bodiless requests Node's client sent with `content-length: 0` (upstreams may expect it).
const BODY_EXPECTED = new Set(['POST', 'PUT', 'PATCH']);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** RFC 9112 §6.3: a request has a body only with Transfer-Encoding or a non-zero Content-Length. */
export function bodyKind(headers: IncomingHttpHeaders): BodyKind {
  if (headers['transfer-encoding'] !== undefined) return 'chunked';
  const cl = headers['content-length'];
  return cl !== undefined && cl !== '0' ? 'length' : 'none';
}

/** Extra names the Connection header lists (beyond the usual keep-alive/close), lower-cased. */
function listedTokens(connection: string | undefined): Set<string> | undefined {
  if (connection === undefined) return undefined;
  const c = connection.toLowerCase();
  if (c === 'keep-alive' || c === 'close' || c.length === 0) return undefined;
  const out = new Set<string>();
  for (const t of c.split(',')) {
    const n = t.trim();
    if (n.length > 0) out.add(n);
  }
  return out;
}

function line(name: string, value: string | readonly string[]): string {
  if (typeof value === 'string') return `${name}: ${value}\r\n`;
  let text = '';
  for (const one of value) text += `${name}: ${one}\r\n`;
  return text;
}

/**
 * The request line and header block for the upstream, from headers Node's parser already validated;
 * undefined when a header set by a policy edit is not valid on the wire (it could split the request).
 */
export function upstreamRequestHead(
  method: string,
  path: string,
  headers: IncomingHttpHeaders,
  edits: HeaderEdits,
  options: { readonly dropExpect: boolean; readonly body: BodyKind },
): string | undefined {
  const listed = listedTokens(headers.connection);
  const edited = edits.remove.length > 0 || edits.set.length > 0;
  let text = `${method} ${path} HTTP/1.1\r\n`;
  let proto = false;
  let requestId = false;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name) || listed?.has(name) === true) continue;
    if (options.dropExpect && name === 'expect') continue;
    if (edited && (edits.remove.includes(name) || edits.set.some((s) => s.name === name))) continue;
    if (name === 'x-forwarded-proto') proto = true;
    else if (name === 'x-request-id') requestId = true;
    text += line(name, value);
  }
  for (const { name, value } of edits.set) {
    if (!TOKEN.test(name) || BAD_VALUE.test(value)) return undefined;
    if (name === 'x-forwarded-proto') proto = true;
    else if (name === 'x-request-id') requestId = true;
    text += `${name}: ${value}\r\n`;
  }
  if (!proto) text += 'x-forwarded-proto: http\r\n';
  if (!requestId) text += `x-request-id: ${randomUUID()}\r\n`;
  if (options.body === 'chunked') text += 'transfer-encoding: chunked\r\n';
  else if (options.body === 'none' && headers['content-length'] === undefined && BODY_EXPECTED.has(method))
    text += 'content-length: 0\r\n';
  return `${text}\r\n`;
}
