import { type Server, Socket } from 'node:net';
import { NetnsError, NetnsErrorCode } from './errors.js';
import type { Netns } from './namespace.js';
import { familyOf, type SocketAddress } from './sockaddr.js';
import {
  bindFd,
  closeFd,
  type ListenOptions,
  listenIn,
  originalDst,
  type SocketOptions,
  tcpSocket,
} from './sockets.js';

/**
 * The file descriptor behind a Node socket. Node keeps it on the internal `_handle`; this is the ONE
 * place that reaches for it, so a Node change breaks one function with a clear error.
 */
export function fdOf(socket: Socket): number {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new NetnsError(NetnsErrorCode.NoFd, 'socket has no file descriptor (closed, or not a TCP socket)');
  }
  return fd;
}

/** SO_ORIGINAL_DST of an accepted Node socket (15001 listeners behind iptables REDIRECT). */
export function originalDstOf(socket: Socket): SocketAddress {
  const local = socket.localAddress;
  return originalDst(fdOf(socket), local !== undefined && familyOf(local) === 6 ? 6 : 4);
}

/** Starts `server` on an already listening fd (from listenIn); resolves once Node accepts on it. */
export function listenServerOnFd(server: Server, fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ fd }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** listenIn + listenServerOnFd: `server` accepts connections inside `ns`. The fd is closed on failure. */
export async function listenServerIn(
  server: Server,
  ns: Netns | null,
  options: ListenOptions,
): Promise<void> {
  const fd = listenIn(ns, options);
  try {
    await listenServerOnFd(server, fd);
  } catch (err) {
    closeFd(fd);
    throw err;
  }
}

export interface ConnectInOptions extends SocketOptions {
  host: string;
  port: number;
  /** Bind to this source address first (with `transparent`, any address, e.g. the original client's). */
  localAddress?: string;
  localPort?: number;
  /**
   * Keep the writable side open after the peer's FIN (default true: proxies pass half-closes on). Pass
   * false for sockets that carry TLS/HTTP/2 sessions, so a peer that goes away closes them.
   */
  allowHalfOpen?: boolean;
}

/**
 * A Node socket connecting to host:port from inside `ns` (e.g. the pod's namespace, so the peer sees
 * the pod's IP), with SO_MARK / IP_TRANSPARENT and an optional source address applied first. Returns
 * at once; listen for 'connect' / 'error' as with net.connect. noDelay is always on.
 */
export function connectIn(ns: Netns | null, options: ConnectInOptions): Socket {
  const family = familyOf(options.host);
  const fd = tcpSocket(ns, family, options);
  let socket: Socket;
  try {
    if (options.localAddress !== undefined) bindFd(fd, options.localAddress, options.localPort ?? 0);
    socket = new Socket({ fd, readable: true, writable: true, allowHalfOpen: options.allowHalfOpen ?? true });
  } catch (err) {
    closeFd(fd);
    throw err;
  }
  socket.setNoDelay(true);
  socket.connect({ host: options.host, port: options.port });
  return socket;
}
