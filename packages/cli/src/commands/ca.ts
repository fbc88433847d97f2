import {
  type Command,
  type CommandIo,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  type ParsedArgs,
} from '../command.js';

const DEFAULT_ADMIN = 'http://127.0.0.1:15000';
const STAGES = ['add', 'switch', 'retire'] as const;

interface RootStatus {
  subject: string;
  serial: string;
  fingerprint256: string;
  notAfter: string;
  issuing: boolean;
  addedAt?: string;
}

interface CaStatus {
  mode: string;
  store: string;
  trustDomain: string;
  phase: 'steady' | 'added' | 'switched';
  bundleVersion: number;
  roots: RootStatus[];
  switchedAt?: string;
  retireSafeAt?: string;
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
  plugin?: { reloads: number; loadedAt: string; lastError?: { code: string; message: string; at: string } };
}

const NEXT_STEP: Record<CaStatus['phase'], string> = {
  steady: 'to rotate the root: weftctl ca rotate --stage add',
  added: 'once every agent has the new root: weftctl ca rotate --stage switch',
  switched: 'after the old root’s certificates expired: weftctl ca rotate --stage retire',
};

function render(s: CaStatus): string {
  const lines = [
    `CA:            ${s.mode} (${s.store}), trust domain ${s.trustDomain}`,
    `rotation:      ${s.phase}, trust bundle version ${s.bundleVersion}`,
    `workload TTL:  default ${s.defaultTtlSeconds}s, max ${s.maxTtlSeconds}s`,
    'roots:',
    ...s.roots.map(
      (r) =>
        `  ${r.issuing ? '* issuing' : '  trusted'}  ${r.subject}  serial ${r.serial}  expires ${r.notAfter}  sha256 ${r.fingerprint256.slice(0, 23)}…`,
    ),
  ];
  if (s.switchedAt !== undefined) lines.push(`switched at:   ${s.switchedAt}`);
  if (s.retireSafeAt !== undefined) lines.push(`retire safe:   ${s.retireSafeAt}`);
  if (s.plugin !== undefined) {
    lines.push(`cacerts:       loaded ${s.plugin.loadedAt}, ${s.plugin.reloads} reload(s) since start`);
    const e = s.plugin.lastError;
    if (e !== undefined) lines.push(`last problem:  ${e.at} ${e.code}: ${e.message}`);
    lines.push(
      'next:          to rotate: replace the cacerts files (new root in root-cert.pem first); pilot reloads them',
    );
  } else lines.push(`next:          ${NEXT_STEP[s.phase]}`);
  return `${lines.join('\n')}\n`;
}

async function call(io: CommandIo, url: string, method: 'GET' | 'POST', json: boolean): Promise<number> {
  let res: Response;
  try {
    res = await fetch(url, { method, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    io.stderr(
      `cannot reach pilot's admin endpoint ${new URL(url).origin}: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}\n` +
        'is weft-pilot running? set --pilot-admin (admin listens on 127.0.0.1:15000; use kubectl port-forward in a cluster)\n',
    );
    return EXIT_USAGE;
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    io.stderr(`pilot answered HTTP ${res.status} with non-JSON: ${text.slice(0, 200)}\n`);
    return EXIT_USAGE;
  }
  if (!res.ok) {
    const e = body as { code?: string; message?: string };
    if (json) io.stdout(`${JSON.stringify(body, null, 2)}\n`);
    io.stderr(`refused: ${e.code ?? `HTTP ${res.status}`}: ${e.message ?? text}\n`);
    return res.status === 404 ? EXIT_USAGE : EXIT_FAILED;
  }
  io.stdout(json ? `${JSON.stringify(body, null, 2)}\n` : render(body as CaStatus));
  return EXIT_OK;
}

/** `weftctl ca status` and `weftctl ca rotate --stage add|switch|retire [--force]`, via pilot's admin API. */
export const command: Command = {
  name: 'ca',
  summary: "show weft-pilot's CA and run a staged root rotation",
  usage: [
    'weftctl ca status [--pilot-admin URL] [-o json]',
    'weftctl ca rotate --stage add|switch|retire [--force] [--pilot-admin URL] [-o json]',
    '',
    'A root rotation has three stages, run in order:',
    '  add     trust a new root everywhere (pilot streams the bundle to every agent)',
    '  switch  issue new certificates from the new root',
    '  retire  drop the old root, once its certificates have expired (refused earlier unless --force)',
    `--pilot-admin defaults to ${DEFAULT_ADMIN} (pilot's admin port, localhost only).`,
  ].join('\n'),
  async run(args: ParsedArgs, io: CommandIo): Promise<number> {
    const [verb, ...rest] = args.positionals;
    const admin = (args.flags['pilot-admin'] ?? DEFAULT_ADMIN).replace(/\/+$/, '');
    const output = args.flags.o ?? args.flags.output ?? 'text';
    if (output !== 'text' && output !== 'json') {
      io.stderr(`-o must be json or text, not "${output}"\n`);
      return EXIT_USAGE;
    }
    try {
      new URL(admin);
    } catch {
      io.stderr(`--pilot-admin is not a URL: ${admin}\n`);
      return EXIT_USAGE;
    }
    if (rest.length > 0) {
      io.stderr(`unexpected arguments: ${rest.join(' ')}\n${command.usage}\n`);
      return EXIT_USAGE;
    }
    const json = output === 'json';
    if (verb === 'status') return call(io, `${admin}/ca/status`, 'GET', json);
    if (verb === 'rotate') {
      const stage = args.flags.stage;
      if (stage === undefined || !(STAGES as readonly string[]).includes(stage)) {
        io.stderr(`--stage must be one of ${STAGES.join(', ')}\n`);
        return EXIT_USAGE;
      }
      const q = new URLSearchParams({ stage });
      if (args.flags.force === 'true') q.set('force', 'true');
      return call(io, `${admin}/ca/rotate?${q}`, 'POST', json);
    }
    io.stderr(
      `${verb === undefined ? 'missing' : `unknown`} subcommand${verb === undefined ? '' : ` "${verb}"`}\n${command.usage}\n`,
    );
    return EXIT_USAGE;
  },
};
