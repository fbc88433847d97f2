/** `weftctl config dump`: what a weft-node (or waypoint, pilot) holds, from its admin /config_dump. */
import { adminUrl, getJson } from '../admin-client.js';
import { type Command, type CommandIo, EXIT_OK, EXIT_USAGE, type ParsedArgs } from '../command.js';
import { formatData, outputFormat } from '../output.js';

function summary(dump: unknown): string {
  if (typeof dump !== 'object' || dump === null) return `${JSON.stringify(dump)}\n`;
  const lines = Object.entries(dump).map(([k, v]) => {
    const size = Array.isArray(v)
      ? `${v.length} entries`
      : typeof v === 'object' && v !== null
        ? `${Object.keys(v).length} keys`
        : JSON.stringify(v);
    return `  ${k.padEnd(16)}${size}`;
  });
  return `sections (weftctl config dump --section NAME, or -o yaml|json for everything):\n${lines.join('\n')}\n`;
}

export const command: Command = {
  name: 'config',
  summary: 'dump the configuration an agent holds (config dump)',
  usage: [
    'weftctl config dump [--admin URL] [--section NAME] [-o json|yaml]',
    '',
    'Reads /config_dump from an admin port (default http://127.0.0.1:15000: weft-node, weft-waypoint or',
    'weft-pilot on this host; kubectl port-forward in a cluster). Text output lists the sections.',
  ].join('\n'),
  async run(args: ParsedArgs, io: CommandIo): Promise<number> {
    const format = outputFormat(args);
    const admin = adminUrl(args.flags);
    const [verb, ...extra] = args.positionals;
    if (format !== 'text' && format !== 'json' && format !== 'yaml') {
      io.stderr(`${format}\n`);
      return EXIT_USAGE;
    }
    if (verb !== 'dump' || extra.length > 0 || admin === undefined) {
      io.stderr(`usage: ${command.usage.split('\n')[0]}\n`);
      return EXIT_USAGE;
    }
    let dump = await getJson(io, `${admin}/config_dump`);
    if (dump === undefined) return EXIT_USAGE;
    const section = args.flags.section;
    if (section !== undefined) {
      const part =
        typeof dump === 'object' && dump !== null ? (dump as Record<string, unknown>)[section] : undefined;
      if (part === undefined) {
        io.stderr(`no section "${section}"; there are: ${Object.keys(dump as object).join(', ')}\n`);
        return EXIT_USAGE;
      }
      dump = part;
    }
    io.stdout(
      format === 'text'
        ? section === undefined
          ? summary(dump)
          : formatData(dump, 'yaml')
        : formatData(dump, format),
    );
    return EXIT_OK;
  },
};
