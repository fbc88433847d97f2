/** Output for people (colour on a terminal) and for scripts (-o json|yaml). */
import { stringify } from 'yaml';
import type { CommandIo, ParsedArgs } from './command.js';

export type OutputFormat = 'text' | 'json' | 'yaml';

/** The -o value, or an error message. */
export function outputFormat(
  args: ParsedArgs,
  allowed: readonly OutputFormat[] = ['text', 'json', 'yaml'],
): OutputFormat | string {
  const o = args.flags.o ?? args.flags.output ?? 'text';
  return (allowed as readonly string[]).includes(o)
    ? (o as OutputFormat)
    : `-o must be one of ${allowed.join(', ')} (got "${o}")`;
}

export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

export function formatData(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : toYaml(value);
}

const CODES = { red: 31, green: 32, yellow: 33, bold: 1, dim: 2 } as const;
export type Colour = keyof typeof CODES;

/** Colours `text` when stdout is a terminal and NO_COLOR is not set. */
export function paint(io: CommandIo, colour: Colour, text: string): string {
  if (!io.isTty || (io.env.NO_COLOR ?? '') !== '' || io.env.TERM === 'dumb') return text;
  return `\u001b[${CODES[colour]}m${text}\u001b[0m`;
}

/** `key: value` lines with aligned values. */
export function fields(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}\n`).join('');
}
