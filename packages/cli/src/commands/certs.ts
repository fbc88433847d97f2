/** `weftctl certs <pod>`: the pod's workload certificate (chain, serial, expiry) from weft-node's /config_dump. */
import { type AgentDump, adminUrl, getJson } from '../admin-client.js';
import {
  type Command,
  type CommandIo,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  type ParsedArgs,
} from '../command.js';
import { parsePodRef } from '../config-dir.js';
import { fields, formatData, outputFormat, paint } from '../output.js';

function remaining(notAfter: string | undefined, now: number): { text: string; valid: boolean } {
  const t = notAfter === undefined ? Number.NaN : Date.parse(notAfter);
  if (Number.isNaN(t)) return { text: 'unknown', valid: false };
  const ms = t - now;
  if (ms <= 0) return { text: `EXPIRED ${Math.round(-ms / 60_000)} min ago`, valid: false };
  const h = Math.floor(ms / 3_600_000);
  return { text: `${h} h ${Math.floor((ms % 3_600_000) / 60_000)} min left`, valid: true };
}

export const command: Command = {
  name: 'certs',
  summary: 'show a pod’s workload certificate chain and expiry (from its node’s weft-node)',
  usage: [
    'weftctl certs <pod> [-n ns] [--admin URL] [-o json|yaml]',
    '',
    'Reads /config_dump of the weft-node on the pod’s node (--admin, default http://127.0.0.1:15000).',
    'Exit: 0 a valid certificate, 1 none or expired, 2 usage/connection error.',
  ].join('\n'),
  async run(args: ParsedArgs, io: CommandIo): Promise<number> {
    const format = outputFormat(args);
    const admin = adminUrl(args.flags);
    const [target, ...extra] = args.positionals;
    if (format !== 'text' && format !== 'json' && format !== 'yaml') {
      io.stderr(`${format}\n`);
      return EXIT_USAGE;
    }
    if (target === undefined || extra.length > 0 || admin === undefined) {
      io.stderr(`usage: ${command.usage.split('\n')[0]}\n`);
      return EXIT_USAGE;
    }
    const ref = parsePodRef(target, args.flags.namespace);
    const dump = (await getJson(io, `${admin}/config_dump`)) as AgentDump | undefined;
    if (dump === undefined) return EXIT_USAGE;
    const pod = dump.pods?.find((p) => p.name === ref.name && p.namespace === ref.namespace);
    if (pod === undefined) {
      io.stderr(
        `weft-node at ${admin} does not serve pod ${ref.namespace}/${ref.name} (not on that node, or not in the mesh)\n`,
      );
      return EXIT_FAILED;
    }
    const cert = dump.certificates?.find((c) => c.identity === pod.identity);
    const now = Date.now();
    const left = remaining(cert?.notAfter, now);
    const result = {
      pod: `${ref.namespace}/${ref.name}`,
      identity: pod.identity ?? null,
      serial: cert?.serial ?? null,
      notBefore: cert?.notBefore ?? null,
      notAfter: cert?.notAfter ?? null,
      valid: cert !== undefined && left.valid,
      chain: cert?.chain ?? [],
    };
    if (format !== 'text') io.stdout(formatData(result, format));
    else if (cert === undefined)
      io.stdout(
        `${result.pod}: ${paint(io, 'red', 'no certificate yet')} for ${pod.identity ?? '(no identity)'}\n`,
      );
    else {
      io.stdout(
        fields([
          ['pod', result.pod],
          ['identity', result.identity ?? ''],
          ['serial', result.serial ?? 'unknown'],
          [
            'expires',
            `${cert.notAfter ?? 'unknown'} (${left.valid ? paint(io, 'green', left.text) : paint(io, 'red', left.text)})`,
          ],
        ]),
      );
      result.chain.forEach((c, i) => {
        io.stdout(
          `  [${i}] ${c.subject ?? '(no subject)'}  issuer ${c.issuer ?? '?'}  expires ${c.notAfter ?? '?'}\n`,
        );
      });
    }
    return result.valid ? EXIT_OK : EXIT_FAILED;
  },
};
