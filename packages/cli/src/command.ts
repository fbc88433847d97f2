/**
 * A weftctl subcommand. Each lives in src/commands/<name>.ts and exports `command`; src/commands/index.ts
 * lists them. Commands write through `io` (not console) so tests can capture output, and return the
 * process exit code: 0 ok, 1 the check failed / denied / problems found, 2 usage or connection error.
 */
export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stdout is a terminal: colours and tables; otherwise plain text. */
  isTty: boolean;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export interface ParsedArgs {
  /** Positional arguments after the command name(s). */
  positionals: string[];
  /** --flag value / --flag=value / -o json; repeated flags keep the last value; bare flags are 'true'. */
  flags: Record<string, string>;
  /** Every value of each flag in order, for repeatable flags (`--set a=1 --set b=2`). */
  all?: Record<string, string[]>;
}

export interface Command {
  /** e.g. 'analyze', or 'ca' with its own sub-verbs handled in run(). */
  name: string;
  summary: string;
  usage: string;
  run(args: ParsedArgs, io: CommandIo): Promise<number>;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
