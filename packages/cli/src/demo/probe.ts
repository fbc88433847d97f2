/** Bounded waits on things the demo starts: an HTTP endpoint, a log line, a socket file. */
import { existsSync, readFileSync } from 'node:fs';
import { isAlive } from './processes.js';

export async function httpStatus(url: string, timeoutMs = 1000): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

export function tail(file: string, lines = 15): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export type WaitResult = { ok: true } | { ok: false; why: 'exited' | 'timeout' };

/** Polls `check` every 100 ms until true, the process `pid` exits, or `timeoutMs` passes. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  pid: number,
  timeoutMs: number,
): Promise<WaitResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return { ok: true };
    if (!isAlive(pid)) return { ok: false, why: 'exited' };
    if (Date.now() > deadline) return { ok: false, why: 'timeout' };
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const logMatches = (file: string, re: RegExp) => (): boolean => {
  try {
    return re.test(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
};

export const fileExists = (path: string) => (): boolean => existsSync(path);
