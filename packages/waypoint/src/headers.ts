/** Hop-by-hop header handling (RFC 9110 §7.6.1) and the headers a proxy adds or rewrites. Pure. */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Hop-by-hop headers a proxy never forwards (plus whatever the Connection header names). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  'trailer',
  'http2-settings',
]);

export interface HeaderEdits {
  /** Lower-case names to drop (the JWT's header unless forwardOriginalToken). */
  readonly remove: readonly string[];
  readonly set: readonly { readonly name: string; readonly value: string }[];
}

/** Names listed in the Connection header are hop-by-hop too. */
function connectionTokens(headers: IncomingHttpHeaders): Set<string> | undefined {
  const c = headers.connection;
  if (c === undefined || c.length === 0) return undefined;
  const out = new Set<string>();
  for (const t of c.split(',')) {
    const n = t.trim().toLowerCase();
    if (n.length > 0) out.add(n);
  }
  return out;
}

export interface UpstreamHeaderOptions {
  /** Keep Connection/Upgrade (WebSocket passthrough). */
  readonly upgrade?: boolean;
  /** Drop Expect (the waypoint already answered 100 Continue). */
  readonly dropExpect?: boolean;
  /** HTTP/2: keep pseudo-headers and `te: trailers`. */
  readonly h2?: boolean;
}

/** The request headers to send upstream. */
export function upstreamRequestHeaders(
  headers: IncomingHttpHeaders,
  edits: HeaderEdits,
  options: UpstreamHeaderOptions = {},
): OutgoingHttpHeaders {
  const listed = connectionTokens(headers);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (options.h2 === true) out[name] = value;
      continue;
    }
    if (HOP_BY_HOP.has(name) || listed?.has(name) === true) {
      if (options.upgrade === true && (name === 'connection' || name === 'upgrade'))
        out[name] = value as string;
      else if (options.h2 === true && name === 'te' && value === 'trailers') out.te = 'trailers';
      continue;
    }
    if (options.dropExpect === true && name === 'expect') continue;
    out[name] = value;
  }
  for (const name of edits.remove) delete out[name];
  for (const { name, value } of edits.set) out[name] = value;
  if (out['x-forwarded-proto'] === undefined) out['x-forwarded-proto'] = 'http';
  if (out['x-request-id'] === undefined) out['x-request-id'] = randomUUID();
  return out;
}

/** The response headers to send downstream (HTTP/1 or HTTP/2). */
export function downstreamResponseHeaders(headers: IncomingHttpHeaders, h2: boolean): OutgoingHttpHeaders {
  const listed = connectionTokens(headers);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (name.charCodeAt(0) === 58) {
      if (h2 && name === ':status') out[name] = value;
      continue;
    }
    if (HOP_BY_HOP.has(name) || listed?.has(name) === true) continue;
    out[name] = value;
  }
  return out;
}

/** gRPC status for an HTTP status the waypoint answers itself (gRPC's HTTP→status mapping). */
export function grpcStatusFor(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return 13;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;
    default:
      return 2;
  }
}

export function isGrpc(headers: IncomingHttpHeaders): boolean {
  const ct = headers['content-type'];
  return ct?.startsWith('application/grpc') === true;
}
