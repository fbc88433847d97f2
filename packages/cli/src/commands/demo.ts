import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isWeftError } from '@weft/telemetry/errors';
import {
  type Command,
  type CommandIo,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  type ParsedArgs,
} from '../command.js';
import { applyPolicy, TOUR_POLICIES } from '../demo/apply.js';
import { availableCommands } from '../demo/commands-available.js';
import { stopDemo } from '../demo/down.js';
import { DemoError, DemoErrorCode } from '../demo/errors.js';
import { execInPod } from '../demo/exec.js';
import { readState, stateDirFrom } from '../demo/state.js';
import { printStatus } from '../demo/status.js';
import { signToken, TOKEN_KINDS } from '../demo/tokens.js';
import { renderTour } from '../demo/tour.js';
import { DEFAULT_TRAFFIC, runTraffic } from '../demo/traffic.js';
import { upDemo } from '../demo/up.js';

const USAGE = [
  'weftctl demo up [--reduced]        start the demo mesh (root; --reduced: control plane only, no root)',
  'weftctl demo down                  stop and remove everything the demo made (safe to repeat)',
  'weftctl demo status [-o json]      what runs where, and whether it still does',
  'weftctl demo tour                  the guided tour, one command per step',
  "weftctl demo exec <pod> -- <cmd…>  run a command in a pod's network namespace (web, orders, payments, waypoint, ingress, outside)",
  `weftctl demo apply ${[...TOUR_POLICIES.map((p) => p.name), 'permissive', 'reset'].join('|')}`,
  "                                   copy a tour policy into the running demo's config",
  `weftctl demo token ${TOKEN_KINDS.join('|')}   print a JWT from the demo issuer`,
  `weftctl demo traffic [--from ${DEFAULT_TRAFFIC.from}] [--url ${DEFAULT_TRAFFIC.url}] [--duration S] [--concurrency N] [-o json]`,
  '                                   requests on new connections from a pod, counting failures',
  '--state-dir DIR (or WEFTCTL_DEMO_DIR): where the demo keeps state and logs (default /run/weft-demo).',
].join('\n');

/** `demo exec <pod> -- <cmd…>`: weftctl's parser puts everything after `--` in the positionals, untouched. */
function commandAfterPod(args: ParsedArgs): string[] {
  return args.positionals.slice(2);
}

function intFlag(args: ParsedArgs, name: string, fallback: number): number {
  const v = args.flags[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new DemoError(DemoErrorCode.Unknown, `--${name} must be a whole number (got ${v})`);
  return n;
}

async function run(args: ParsedArgs, io: CommandIo): Promise<number> {
  const [verb, arg] = args.positionals;
  const stateDir = stateDirFrom(args.flags, io.env);
  const json = (args.flags.o ?? args.flags.output) === 'json';
  switch (verb) {
    case 'up':
      return upDemo({ stateDir, reduced: args.flags.reduced === 'true', io });
    case 'down': {
      const removed = await stopDemo(stateDir);
      io.stdout(
        removed > 0
          ? `demo removed (${removed} processes and namespaces)\n`
          : 'no demo was running; nothing left behind\n',
      );
      return EXIT_OK;
    }
    case 'status':
      return printStatus(stateDir, io, json);
    case 'tour': {
      // Mark the steps whose parts do not run in the current demo (if one is up).
      const state = await readState(stateDir).catch(() => undefined);
      const missing = new Set((state?.components ?? []).filter((c) => !c.ok).map((c) => c.name));
      for (const c of await availableCommands()) if (!c.ok) missing.add(c.name);
      io.stdout(renderTour(stateDir, missing));
      return EXIT_OK;
    }
    case 'exec':
      if (arg === undefined) break;
      return execInPod(stateDir, arg, commandAfterPod(args), io);
    case 'apply':
      if (arg === undefined) break;
      io.stdout(`${await applyPolicy(stateDir, arg)}\n`);
      return EXIT_OK;
    case 'token': {
      if (arg === undefined) break;
      const state = await readState(stateDir);
      if (state === undefined)
        throw new DemoError(
          DemoErrorCode.NotRunning,
          `no demo running (state ${stateDir}): its issuer key is made by \`weftctl demo up\``,
        );
      io.stdout(`${signToken(await readFile(join(stateDir, 'jwt-key.pem'), 'utf8'), arg)}\n`);
      return EXIT_OK;
    }
    case 'traffic':
      return runTraffic(
        stateDir,
        {
          from: args.flags.from ?? DEFAULT_TRAFFIC.from,
          url: args.flags.url ?? DEFAULT_TRAFFIC.url,
          seconds: intFlag(args, 'duration', 0),
          concurrency: Math.max(1, intFlag(args, 'concurrency', DEFAULT_TRAFFIC.concurrency)),
          json,
        },
        io,
      );
    default:
  }
  io.stderr(
    `${verb === undefined ? 'missing subcommand' : `unknown or incomplete: demo ${verb}`}\n${USAGE}\n`,
  );
  return EXIT_USAGE;
}

/** `weftctl demo …`: the whole ambient mesh on this machine (see README "Demo tour"). */
export const command: Command = {
  name: 'demo',
  summary: 'run a whole ambient mesh on this machine: pilot, two nodes, pods, a waypoint, and a guided tour',
  usage: USAGE,
  async run(args: ParsedArgs, io: CommandIo): Promise<number> {
    try {
      return await run(args, io);
    } catch (err) {
      if (!isWeftError(err)) throw err;
      io.stderr(`${err.code}: ${err.message}\n`);
      return err.code === DemoErrorCode.NotRunning || err.code === DemoErrorCode.Unknown
        ? EXIT_USAGE
        : EXIT_FAILED;
    }
  },
};
