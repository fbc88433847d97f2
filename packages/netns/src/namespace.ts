import { closeSync, openSync, readlinkSync } from 'node:fs';
import { NetnsError, NetnsErrorCode } from './errors.js';
import { CLONE_NEWNET, lastErrno, lib } from './libc.js';

/**
 * The network namespace this thread started in, opened once per thread (each worker thread loads its
 * own copy of this module). setns() affects only the calling thread, so every entry is paired with a
 * return to this fd in a finally block.
 */
let homeFd: number | undefined;
/** Set when returning home failed: nothing on this thread may touch sockets any more. */
let poisoned: NetnsError | undefined;

function home(): number {
  if (homeFd === undefined) {
    try {
      homeFd = openSync('/proc/thread-self/ns/net', 'r');
    } catch (err) {
      throw new NetnsError(NetnsErrorCode.Open, "cannot open this thread's own network namespace", {
        cause: err,
        errno: (err as { code?: string }).code ?? 'unknown',
      });
    }
  }
  return homeFd;
}

/**
 * An open handle on a network namespace (`/var/run/netns/<name>`, `/proc/<pid>/ns/net`). Keeping the
 * fd open pins the namespace and makes entering it one system call.
 */
export class Netns {
  readonly path: string;
  #fd: number;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.#fd = fd;
  }

  /** Opens the namespace at `path`; throws WEFT_NETNS_OPEN when it does not exist or cannot be read. */
  static open(path: string): Netns {
    lib();
    try {
      return new Netns(path, openSync(path, 'r'));
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new NetnsError(NetnsErrorCode.Open, `cannot open network namespace ${path}`, {
        cause: err,
        errno: code ?? 'unknown',
      });
    }
  }

  get fd(): number {
    if (this.#fd < 0) throw new NetnsError(NetnsErrorCode.Open, `network namespace ${this.path} is closed`);
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /**
   * Runs `fn` synchronously with this thread inside the namespace and always returns to the thread's
   * own namespace, even if `fn` throws. `fn` must not await: only the synchronous part runs inside.
   */
  run<T>(fn: () => T): T {
    return runIn(this, fn);
  }

  close(): void {
    if (this.#fd >= 0) {
      closeSync(this.#fd);
      this.#fd = -1;
    }
  }
}

/** runIn(null, fn) runs fn where the thread is (its own namespace). */
export function runIn<T>(ns: Netns | null, fn: () => T): T {
  if (poisoned !== undefined) throw poisoned;
  if (ns === null) return fn();
  const c = lib();
  const back = home();
  if (c.setns(ns.fd, CLONE_NEWNET) !== 0) {
    throw new NetnsError(NetnsErrorCode.Enter, `setns into ${ns.path} failed`, { errno: lastErrno() });
  }
  try {
    return fn();
  } finally {
    if (c.setns(back, CLONE_NEWNET) !== 0) {
      poisoned = new NetnsError(
        NetnsErrorCode.Restore,
        `could not return from ${ns.path} to this thread's own network namespace; the process must restart`,
        { errno: lastErrno() },
      );
      // Throwing from finally replaces fn's result: nobody may use a socket made after this point.
      // biome-ignore lint/correctness/noUnsafeFinally: a thread left in the wrong namespace must not continue.
      throw poisoned;
    }
  }
}

/** The namespace this thread is in now, e.g. "net:[4026531992]" (tests: proves the thread came back). */
export function currentNetnsId(): string {
  return readlinkSync('/proc/thread-self/ns/net');
}
