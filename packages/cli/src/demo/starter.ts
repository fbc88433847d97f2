/** Starting the demo's processes and recording each component's outcome in the state file. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { CommandIo } from '../command.js';
import { DemoErrorCode } from './errors.js';
import { tail } from './probe.js';
import { spawnDetached } from './processes.js';
import { type ComponentRecord, type DemoState, writeState } from './state.js';

interface BootstrapTokens {
  tokens?: Record<string, { kind?: string; node?: string; identity?: string }>;
}

/** The bootstrap token (from the demo's bootstrap-tokens.yaml) whose grant matches. */
export async function tokenFor(
  tokensFile: string,
  match: (grant: { kind?: string; node?: string; identity?: string }) => boolean,
): Promise<string | undefined> {
  const doc = parseYaml(await readFile(tokensFile, 'utf8')) as BootstrapTokens;
  for (const [token, grant] of Object.entries(doc.tokens ?? {})) if (match(grant)) return token;
  return undefined;
}

export class Starter {
  readonly state: DemoState;
  readonly io: CommandIo;

  constructor(state: DemoState, io: CommandIo) {
    this.state = state;
    this.io = io;
  }

  logFile(name: string): string {
    return join(this.state.stateDir, 'logs', `${name}.log`);
  }

  async spawn(name: string, argv: string[], env: Record<string, string>, netns?: string): Promise<number> {
    const log = this.logFile(name);
    const pid = spawnDetached(
      { name, argv, env, cwd: this.state.stateDir, logFile: log, ...(netns === undefined ? {} : { netns }) },
      this.state.stateDir,
    );
    this.state.processes.push({ name, pid, log, ...(netns === undefined ? {} : { netns }) });
    await writeState(this.state);
    return pid;
  }

  async component(record: ComponentRecord): Promise<void> {
    const i = this.state.components.findIndex((c) => c.name === record.name);
    if (i === -1) this.state.components.push(record);
    else this.state.components[i] = record;
    await writeState(this.state);
    this.io.stdout(`  ${record.ok ? 'ok  ' : 'FAIL'} ${record.name.padEnd(14)} ${record.detail}\n`);
  }

  /** A failed start: names what is missing and where its log is. */
  failure(what: string, why: 'exited' | 'timeout', name: string): string {
    const verb = why === 'exited' ? 'exited before it was ready' : 'did not become ready in time';
    return `${DemoErrorCode.ComponentMissing}: ${what} ${verb}; log ${this.logFile(name)}:\n${tail(this.logFile(name), 8).replace(/^/gm, '      ')}`;
  }
}
