import { randomFillSync } from 'node:crypto';
import { isIP } from 'node:net';
import { HboneError, HboneErrorCode } from './errors.js';

/** A parsed `ip:port` authority (IPv6 in brackets: `[fd00::1]:8080`). */
export interface Authority {
  host: string;
  port: number;
}

/**
 * Parses a CONNECT :authority. HBONE carries the destination as a literal IP and port; a hostname
 * authority is only used for double HBONE, which callers opt into with `allowHostnames`.
 */
export function parseAuthority(authority: string | undefined, allowHostnames = false): Authority {
  const bad = (why: string): HboneError =>
    new HboneError(
      HboneErrorCode.BadAuthority,
      `bad CONNECT authority ${JSON.stringify(authority)}: ${why}`,
      {
        status: 400,
      },
    );
  if (authority === undefined || authority.length === 0) throw bad('missing');
  if (authority.length > 300) throw bad('too long');
  let host: string;
  let portText: string;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close === -1 || authority[close + 1] !== ':') throw bad('expected [ipv6]:port');
    host = authority.slice(1, close);
    portText = authority.slice(close + 2);
    if (isIP(host) !== 6) throw bad('not an IPv6 address');
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon <= 0) throw bad('expected ip:port');
    host = authority.slice(0, colon);
    portText = authority.slice(colon + 1);
    if (isIP(host) !== 4 && !(allowHostnames && /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(host)))
      throw bad('not an IP address');
  }
  if (!/^[0-9]{1,5}$/.test(portText)) throw bad('port is not a number');
  const port = Number(portText);
  if (port < 1 || port > 65535) throw bad('port out of range');
  return { host, port };
}

/** `ip:port` with brackets for IPv6, as used in :authority and Forwarded. */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Random bytes drawn 24 at a time from a refilled block (one crypto call per 170 tunnels). */
const randomBlock = Buffer.alloc(4080);
let randomOffset = randomBlock.length;

/** A W3C traceparent with a random trace and span id, sampled (one per tunnel, like ztunnel). */
export function randomTraceparent(): string {
  if (randomOffset + 24 > randomBlock.length) {
    randomFillSync(randomBlock);
    randomOffset = 0;
  }
  const at = randomOffset;
  randomOffset += 24;
  return `00-${randomBlock.toString('hex', at, at + 16)}-${randomBlock.toString('hex', at + 16, at + 24)}-01`;
}

/** What a client puts on a CONNECT besides :method and :authority. */
export interface TunnelHeaderInput {
  /** The original client `ip:port` (Forwarded: for=...). */
  forwardedFor?: string;
  /** Optional Forwarded host= (a Service hostname, for metrics at the destination). */
  forwardedHost?: string;
  /** W3C baggage, e.g. `k8s.namespace.name=prod,k8s.deployment.name=orders`. */
  baggage?: string;
  /** A traceparent to propagate; a random one is made when absent. */
  traceparent?: string;
  /** Anything else (lowercase names). */
  extra?: Readonly<Record<string, string>>;
}

/** The HTTP/2 header block of an HBONE CONNECT. */
export function connectHeaders(authority: string, input: TunnelHeaderInput): Record<string, string> {
  const headers: Record<string, string> = { ':method': 'CONNECT', ':authority': authority };
  if (input.extra !== undefined) Object.assign(headers, input.extra);
  if (input.forwardedFor !== undefined) {
    headers.forwarded =
      input.forwardedHost === undefined
        ? `for="${input.forwardedFor}"`
        : `for="${input.forwardedFor}";host=${input.forwardedHost}`;
  }
  if (input.baggage !== undefined) headers.baggage = input.baggage;
  headers.traceparent = input.traceparent ?? randomTraceparent();
  return headers;
}
