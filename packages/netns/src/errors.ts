import { WeftError } from '@weft/telemetry/errors';

/** Every code this package reports; each is listed in docs/errors.md under "netns". */
export const NetnsErrorCode = {
  /** The native helpers cannot run here (not Linux, or libc could not be loaded). */
  Unavailable: 'WEFT_NETNS_UNAVAILABLE',
  /** The namespace path could not be opened (pod gone, wrong path, not root). */
  Open: 'WEFT_NETNS_OPEN',
  /** setns() into the namespace failed (not a network namespace, or no CAP_SYS_ADMIN). */
  Enter: 'WEFT_NETNS_ENTER',
  /** setns() back to the thread's own namespace failed: the thread is unusable. */
  Restore: 'WEFT_NETNS_RESTORE',
  /** socket() failed. */
  Socket: 'WEFT_NETNS_SOCKET',
  /** setsockopt()/getsockopt() failed. */
  SockOpt: 'WEFT_NETNS_SOCKOPT',
  /** bind() failed (address in use, address not local without IP_TRANSPARENT…). */
  Bind: 'WEFT_NETNS_BIND',
  /** listen() failed. */
  Listen: 'WEFT_NETNS_LISTEN',
  /** SO_ORIGINAL_DST is not available on this socket (not redirected by iptables). */
  OriginalDst: 'WEFT_NETNS_ORIGINAL_DST',
  /** An address is not a literal IPv4/IPv6 address. */
  BadAddress: 'WEFT_NETNS_BAD_ADDRESS',
  /** Installing or removing the in-pod capture rules failed (iptables/ip inside the pod's namespace). */
  Capture: 'WEFT_NETNS_CAPTURE',
  /** A Node socket has no file descriptor (closed, or not a TCP socket). */
  NoFd: 'WEFT_NETNS_NO_FD',
} as const;

export type NetnsErrorCode = (typeof NetnsErrorCode)[keyof typeof NetnsErrorCode];

export class NetnsError extends WeftError {
  /** errno name (EADDRINUSE…) when a system call failed. */
  readonly errno: string | undefined;

  constructor(code: NetnsErrorCode, message: string, options: { errno?: string; cause?: unknown } = {}) {
    const init: { cause?: unknown; details?: Record<string, unknown> } = {};
    if (options.cause !== undefined) init.cause = options.cause;
    if (options.errno !== undefined) init.details = { errno: options.errno };
    super(code, options.errno === undefined ? message : `${message}: ${options.errno}`, init);
    this.errno = options.errno;
  }
}
