/** Which of the weftctl commands the tour uses exist in this build (they are built separately). */
import type { Command } from '../command.js';

export interface Availability {
  name: string;
  ok: boolean;
  detail: string;
}

const WANTED: ReadonlyArray<{ id: string; command: string; verb?: string }> = [
  { id: 'check-tls', command: 'check', verb: 'tls' },
  { id: 'ca-rotate', command: 'ca', verb: 'rotate' },
];

export async function availableCommands(): Promise<Availability[]> {
  // Imported lazily: the command list includes `demo` itself.
  const { commands } = (await import('../commands/index.js')) as { commands: Command[] };
  return WANTED.map((w) => {
    const c = commands.find((x) => x.name === w.command);
    const ok = c !== undefined && (w.verb === undefined || c.usage.includes(w.verb));
    return {
      name: w.id,
      ok,
      detail: ok
        ? `weftctl ${w.command} ${w.verb ?? ''}`.trim()
        : `weftctl ${w.command} ${w.verb ?? ''} is not in this build`.trim(),
    };
  });
}
