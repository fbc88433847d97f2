import type { CommandIo } from './command.js';

/** A CommandIo that records what a command prints (tests). */
export function captureIo(
  overrides: Partial<CommandIo> = {},
): CommandIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    isTty: false,
    env: {},
    cwd: process.cwd(),
    ...overrides,
    out: () => out,
    err: () => err,
  };
}
