import { NetnsError, NetnsErrorCode } from './errors.js';
import {
  AF_INET,
  AF_INET6,
  IP_FREEBIND,
  IP_TRANSPARENT,
  IPV6_FREEBIND,
  IPV6_TRANSPARENT,
  IPV6_V6ONLY,
  lastErrno,
  lib,
  SO_MARK,
  SO_ORIGINAL_DST,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_IP,
  SOL_IPV6,
  SOL_SOCKET,
} from './libc.js';
import { type Netns, runIn } from './namespace.js';
import { decodeSockaddr, encodeSockaddr, type Family, familyOf, type SocketAddress } from './sockaddr.js';

/** Options applied to a fresh socket before bind/connect. */
export interface SocketOptions {
  /** SO_MARK (e.g. 0x539 so the pod's capture rules skip the agent's own traffic). */
  mark?: number;
  /** IP_TRANSPARENT / IPV6_TRANSPARENT: bind to a non-local address, accept TPROXY'd connections. */
  transparent?: boolean;
  /** IP_FREEBIND / IPV6_FREEBIND: bind before the address exists. */
  freebind?: boolean;
  reuseAddr?: boolean;
  /** SO_REUSEPORT: several listeners (workers, an old and a new agent) share one port. */
  reusePort?: boolean;
  /** IPv6 only (no v4-mapped addresses); default true for IPv6 sockets. */
  v6Only?: boolean;
}

const intBuf = Buffer.alloc(4);

function setInt(fd: number, level: number, name: number, value: number, what: string): void {
  intBuf.writeInt32LE(value, 0);
  if (lib().setsockopt(fd, level, name, intBuf, 4) !== 0) {
    throw new NetnsError(NetnsErrorCode.SockOpt, `setsockopt ${what}=${value} on fd ${fd} failed`, {
      errno: lastErrno(),
    });
  }
}

/** SO_MARK; needs CAP_NET_ADMIN. */
export function setMark(fd: number, mark: number): void {
  setInt(fd, SOL_SOCKET, SO_MARK, mark, 'SO_MARK');
}

export function setTransparent(fd: number, family: Family, on = true): void {
  if (family === 4) setInt(fd, SOL_IP, IP_TRANSPARENT, on ? 1 : 0, 'IP_TRANSPARENT');
  else setInt(fd, SOL_IPV6, IPV6_TRANSPARENT, on ? 1 : 0, 'IPV6_TRANSPARENT');
}

export function setFreebind(fd: number, family: Family, on = true): void {
  if (family === 4) setInt(fd, SOL_IP, IP_FREEBIND, on ? 1 : 0, 'IP_FREEBIND');
  else setInt(fd, SOL_IPV6, IPV6_FREEBIND, on ? 1 : 0, 'IPV6_FREEBIND');
}

export function setReuseAddr(fd: number, on = true): void {
  setInt(fd, SOL_SOCKET, SO_REUSEADDR, on ? 1 : 0, 'SO_REUSEADDR');
}

export function setReusePort(fd: number, on = true): void {
  setInt(fd, SOL_SOCKET, SO_REUSEPORT, on ? 1 : 0, 'SO_REUSEPORT');
}

/** Reads an int socket option (tests and diagnostics). */
export function getIntOption(fd: number, level: number, name: number): number {
  const value = Buffer.alloc(4);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(4, 0);
  if (lib().getsockopt(fd, level, name, value, len) !== 0) {
    throw new NetnsError(NetnsErrorCode.SockOpt, `getsockopt ${level}/${name} on fd ${fd} failed`, {
      errno: lastErrno(),
    });
  }
  return value.readInt32LE(0);
}

export function getMark(fd: number): number {
  return getIntOption(fd, SOL_SOCKET, SO_MARK);
}

export function closeFd(fd: number): void {
  lib().close(fd);
}

/**
 * A non-blocking, close-on-exec TCP socket created inside `ns` (null: this thread's own namespace),
 * with `options` applied. A socket belongs to the namespace it was created in for its whole life, so
 * only socket() runs inside; bind/connect/listen can happen afterwards from anywhere.
 */
export function tcpSocket(ns: Netns | null, family: Family, options: SocketOptions = {}): number {
  const c = lib();
  const fd = runIn(ns, () =>
    c.socket(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0),
  );
  if (fd < 0) {
    throw new NetnsError(NetnsErrorCode.Socket, `socket() in ${ns?.path ?? 'own namespace'} failed`, {
      errno: lastErrno(),
    });
  }
  try {
    if (options.mark !== undefined) setMark(fd, options.mark);
    if (options.transparent === true) setTransparent(fd, family);
    if (options.freebind === true) setFreebind(fd, family);
    if (options.reuseAddr === true) setReuseAddr(fd);
    if (options.reusePort === true) setReusePort(fd);
    if (family === 6) setInt(fd, SOL_IPV6, IPV6_V6ONLY, options.v6Only === false ? 0 : 1, 'IPV6_V6ONLY');
  } catch (err) {
    c.close(fd);
    throw err;
  }
  return fd;
}

export function bindFd(fd: number, address: string, port: number): void {
  if (lib().bind(fd, encodeSockaddr(address, port), familyOf(address) === 4 ? 16 : 28) !== 0) {
    throw new NetnsError(NetnsErrorCode.Bind, `bind ${address}:${port} failed`, { errno: lastErrno() });
  }
}

export function listenFd(fd: number, backlog = 1024): void {
  if (lib().listen(fd, backlog) !== 0) {
    throw new NetnsError(NetnsErrorCode.Listen, `listen on fd ${fd} failed`, { errno: lastErrno() });
  }
}

export interface ListenOptions extends SocketOptions {
  host: string;
  port: number;
  backlog?: number;
}

/**
 * A listening socket inside `ns`: socket() there, options, bind, listen. Returns the fd; hand it to
 * `server.listen({ fd })` (see listenServerOnFd). Closes the fd on any failure.
 */
export function listenIn(ns: Netns | null, options: ListenOptions): number {
  const fd = tcpSocket(ns, familyOf(options.host), { reuseAddr: true, ...options });
  try {
    bindFd(fd, options.host, options.port);
    listenFd(fd, options.backlog ?? 1024);
  } catch (err) {
    lib().close(fd);
    throw err;
  }
  return fd;
}

/** The local address the kernel gave the socket (after bind to port 0, or of an accepted socket). */
export function localAddressOf(fd: number): SocketAddress {
  const addr = Buffer.alloc(28);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(28, 0);
  if (lib().getsockname(fd, addr, len) !== 0) {
    throw new NetnsError(NetnsErrorCode.SockOpt, `getsockname on fd ${fd} failed`, { errno: lastErrno() });
  }
  return decodeSockaddr(addr);
}

const origAddr = Buffer.alloc(28);
const origLen = Buffer.alloc(4);

/**
 * The destination a connection had before iptables REDIRECT rewrote it (SO_ORIGINAL_DST for IPv4,
 * IP6T_SO_ORIGINAL_DST for IPv6). Throws WEFT_NETNS_ORIGINAL_DST when the connection was not NATed.
 */
export function originalDst(fd: number, family: Family): SocketAddress {
  origLen.writeUInt32LE(28, 0);
  const rc =
    family === 4
      ? lib().getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, origAddr, origLen)
      : lib().getsockopt(fd, SOL_IPV6, SO_ORIGINAL_DST, origAddr, origLen);
  if (rc !== 0) {
    throw new NetnsError(
      NetnsErrorCode.OriginalDst,
      `SO_ORIGINAL_DST on fd ${fd} failed (was the connection redirected by iptables?)`,
      { errno: lastErrno() },
    );
  }
  return decodeSockaddr(origAddr);
}
