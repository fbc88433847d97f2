/**
 * weftctl's argv parser: `weftctl <command> [sub…] [--flag value | --flag=value | -o json | --bool]`.
 * A flag takes the next argument as its value unless it is a known boolean flag or the next argument is
 * itself a flag; `--` ends the flags.
 */
import type { ParsedArgs } from './command.js';

/** Flags that never take a value. */
export const BOOLEAN_FLAGS = new Set([
  'help',
  'version',
  'force',
  'render',
  'dry-run',
  'no-color',
  'quiet',
  'uninstall',
]);
/** Short flags and the long name they stand for. */
const SHORT: Record<string, string> = { o: 'output', n: 'namespace', h: 'help', v: 'version' };

export function parseArgv(argv: readonly string[]): ParsedArgs & { all: Record<string, string[]> } {
  const positionals: string[] = [];
  const flags: Record<string, string> = {};
  const all: Record<string, string[]> = {};
  const set = (name: string, value: string) => {
    flags[name] = value;
    const list = all[name] ?? [];
    list.push(value);
    all[name] = list;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const m = /^(--?)([^=]+)(?:=(.*))?$/s.exec(arg);
    if (m === null || arg === '-' || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    const raw = m[2] ?? '';
    const name = m[1] === '-' ? (SHORT[raw] ?? raw) : raw;
    if (m[3] !== undefined) {
      set(name, m[3]);
      continue;
    }
    const next = argv[i + 1];
    if (BOOLEAN_FLAGS.has(name) || next === undefined || (next.startsWith('-') && next !== '-')) {
      set(name, 'true');
      continue;
    }
    set(name, next);
    i++;
  }
  // `-o` is also spelt `--output`; commands read either.
  if (flags.output !== undefined) flags.o = flags.output;
  return { positionals, flags, all };
}
