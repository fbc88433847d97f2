import { parseArgv } from './args.js';
import type { Command, CommandIo } from './command.js';
import { EXIT_OK, EXIT_USAGE } from './command.js';
import { commands } from './commands/index.js';

export const VERSION = '0.1.0';

function processIo(): CommandIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    isTty: process.stdout.isTTY === true,
    env: process.env,
    cwd: process.cwd(),
  };
}

function overview(list: readonly Command[]): string {
  const width = Math.max(8, ...list.map((c) => c.name.length)) + 2;
  return [
    'weftctl: install and inspect the Weft mesh',
    '',
    'Usage: weftctl <command> [arguments] [-o json|yaml]',
    '',
    'Commands:',
    ...list.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    `  ${'help'.padEnd(width)}show a command's usage (weftctl help <command>)`,
    '',
    'Exit codes: 0 ok, 1 check failed / denied / problems found, 2 usage or connection error.',
    'Flags: --help, --version, -o json|yaml (machine-readable output), --no-color (or NO_COLOR=1).',
    '',
  ].join('\n');
}

function usageOf(c: Command): string {
  return `${c.summary}\n\nUsage:\n${c.usage
    .split('\n')
    .map((l) => (l === '' ? '' : `  ${l}`))
    .join('\n')}\n`;
}

/** Closest command names, for "did you mean". */
function suggest(name: string, list: readonly Command[]): string[] {
  return list.map((c) => c.name).filter((n) => n.startsWith(name.slice(0, 2)) || name.startsWith(n));
}

/**
 * Entry point of weftctl. Returns the exit code (0 ok, 1 check failed, 2 usage/connection error); when
 * run as the process (no `io` given) it also sets process.exitCode.
 */
export async function main(
  argv: readonly string[],
  io?: CommandIo,
  list: readonly Command[] = commands,
): Promise<number> {
  const out = io ?? processIo();
  const code = await dispatch(argv, out, list);
  if (io === undefined) process.exitCode = code;
  return code;
}

async function dispatch(
  argv: readonly string[],
  given: CommandIo,
  list: readonly Command[],
): Promise<number> {
  const args = parseArgv(argv);
  // --no-color (like NO_COLOR=1) keeps the terminal layout but drops the escape codes.
  const io = args.flags['no-color'] === 'true' ? { ...given, env: { ...given.env, NO_COLOR: '1' } } : given;
  const [name, ...rest] = args.positionals;
  if (name === undefined) {
    if (args.flags.version === 'true') {
      io.stdout(`weftctl ${VERSION}\n`);
      return EXIT_OK;
    }
    io.stdout(overview(list));
    return args.flags.help === 'true' ? EXIT_OK : EXIT_USAGE;
  }
  if (name === 'version') {
    io.stdout(`weftctl ${VERSION}\n`);
    return EXIT_OK;
  }
  if (name === 'help') {
    const target = list.find((c) => c.name === rest[0]);
    if (rest[0] !== undefined && target === undefined) {
      io.stderr(`weftctl: no command "${rest[0]}"\n`);
      return EXIT_USAGE;
    }
    io.stdout(target === undefined ? overview(list) : usageOf(target));
    return EXIT_OK;
  }
  const command = list.find((c) => c.name === name);
  if (command === undefined) {
    const near = suggest(name, list);
    io.stderr(
      `weftctl: unknown command "${name}"${near.length > 0 ? ` (did you mean ${near.join(' or ')}?)` : ''}; run weftctl help\n`,
    );
    return EXIT_USAGE;
  }
  if (args.flags.help === 'true') {
    io.stdout(usageOf(command));
    return EXIT_OK;
  }
  try {
    return await command.run({ positionals: rest, flags: args.flags, all: args.all }, io);
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
    io.stderr(
      `weftctl ${name}: ${code?.startsWith('WEFT_') ? `${code}: ` : ''}${err instanceof Error ? err.message : String(err)}\n`,
    );
    // A WeftError from a library is a problem with the input (bad --set, bad YAML): usage.
    return EXIT_USAGE;
  }
}
