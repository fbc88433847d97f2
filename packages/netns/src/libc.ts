import koffi from 'koffi';
import { NetnsError, NetnsErrorCode } from './errors.js';

/** Linux x86-64/arm64 constants (same values on every Linux architecture we ship). */
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_REUSEPORT = 15;
export const SO_MARK = 36;
export const SOL_IP = 0;
export const SOL_IPV6 = 41;
export const IP_FREEBIND = 15;
export const IP_TRANSPARENT = 19;
export const IPV6_V6ONLY = 26;
export const IPV6_TRANSPARENT = 75;
export const IPV6_FREEBIND = 78;
/** SOL_IP/SO_ORIGINAL_DST and SOL_IPV6/IP6T_SO_ORIGINAL_DST share the number 80. */
export const SO_ORIGINAL_DST = 80;
export const CLONE_NEWNET = 0x40000000;

type Fn<A extends unknown[]> = (...args: A) => number;

export interface Libc {
  setns: Fn<[fd: number, nstype: number]>;
  socket: Fn<[domain: number, type: number, protocol: number]>;
  setsockopt: Fn<[fd: number, level: number, name: number, value: Buffer, len: number]>;
  getsockopt: Fn<[fd: number, level: number, name: number, value: Buffer, len: Buffer]>;
  bind: Fn<[fd: number, addr: Buffer, len: number]>;
  listen: Fn<[fd: number, backlog: number]>;
  close: Fn<[fd: number]>;
  getsockname: Fn<[fd: number, addr: Buffer, len: Buffer]>;
}

let libc: Libc | undefined;
let loadError: unknown;
const errnoNames = new Map<number, string>();

/** libc through koffi, loaded once per thread (each worker has its own module instance). */
export function lib(): Libc {
  if (libc !== undefined) return libc;
  if (process.platform !== 'linux')
    throw new NetnsError(
      NetnsErrorCode.Unavailable,
      `network-namespace helpers need Linux (this is ${process.platform})`,
    );
  if (loadError !== undefined)
    throw new NetnsError(NetnsErrorCode.Unavailable, 'libc could not be loaded through koffi', {
      cause: loadError,
    });
  try {
    const so = koffi.load('libc.so.6');
    libc = {
      setns: so.func('int setns(int fd, int nstype)'),
      socket: so.func('int socket(int domain, int type, int protocol)'),
      setsockopt: so.func('int setsockopt(int fd, int level, int name, void *value, uint32_t len)'),
      getsockopt: so.func('int getsockopt(int fd, int level, int name, void *value, void *len)'),
      bind: so.func('int bind(int fd, void *addr, uint32_t len)'),
      listen: so.func('int listen(int fd, int backlog)'),
      close: so.func('int close(int fd)'),
      getsockname: so.func('int getsockname(int fd, void *addr, void *len)'),
    };
    for (const [name, value] of Object.entries(koffi.os.errno as Record<string, number>)) {
      if (!errnoNames.has(value)) errnoNames.set(value, name);
    }
    return libc;
  } catch (err) {
    loadError = err;
    throw new NetnsError(NetnsErrorCode.Unavailable, 'libc could not be loaded through koffi', {
      cause: err,
    });
  }
}

/** The name of the errno left by the last failed call (EADDRINUSE…). */
export function lastErrno(): string {
  const n = koffi.errno();
  return errnoNames.get(n) ?? `errno ${n}`;
}

/** Why the native helpers cannot run here, or undefined when they can. */
export function nativeSkipReason(): string | undefined {
  try {
    lib();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
