/**
 * `weftctl check tls <pod>`: which mTLS mode applies to a pod and whether traffic to it is mutual TLS.
 * `weftctl check authz <src> <dst> [METHOD PATH]`: the authorization decision, and the policy and rule
 * that made it. Both read a directory of YAML (--config-dir, the embedded config source); `check tls`
 * can ask a node agent's admin endpoint instead (--admin).
 */
import type { ConfigIndex, PodInfo } from '@weft/config';
import { type EffectiveMtlsMode, effectivePeerAuthentication, STATIC_STRICT_POLICY_NAME } from '@weft/policy';
import { type AgentDump, adminUrl, getJson } from '../admin-client.js';
import {
  type Command,
  type CommandIo,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  type ParsedArgs,
} from '../command.js';
import { enrollment, loadConfigDir, type PodRef, parsePodRef } from '../config-dir.js';
import { fields, formatData, type OutputFormat, outputFormat, paint } from '../output.js';
import { checkAuthz } from './check-authz.js';

export interface TlsCheck {
  pod: string;
  enrolled: boolean;
  enrollment: string;
  mode: EffectiveMtlsMode | 'UNKNOWN';
  /** `namespace/name` of the deciding PeerAuthentication, null for the mesh default. */
  policy: string | null;
  level: string;
  /** Only mutual TLS (HBONE) reaches the pod. */
  mutualTlsOnly: boolean;
  /** Plaintext from outside the mesh is accepted. */
  plaintextAccepted: boolean;
  source: 'config-dir' | 'admin';
}

function verdict(c: TlsCheck): string {
  if (!c.enrolled) return 'the pod is not in the mesh: traffic to it is plaintext, no mTLS';
  if (c.mutualTlsOnly) return 'mutual TLS only: HBONE from mesh workloads; plaintext is refused';
  return 'mesh workloads use mutual TLS (HBONE); plaintext from outside the mesh is ALSO accepted';
}

function printTls(io: CommandIo, c: TlsCheck, format: OutputFormat): void {
  if (format !== 'text') {
    io.stdout(formatData(c, format));
    return;
  }
  const mark = c.mutualTlsOnly ? paint(io, 'green', '✔') : paint(io, 'yellow', '✘');
  io.stdout(
    fields([
      ['pod', c.pod],
      ['in mesh', `${c.enrolled ? 'yes' : 'no'} (${c.enrollment})`],
      [
        'mTLS mode',
        `${c.mode}${c.policy === null ? ` (${c.level})` : ` (PeerAuthentication ${c.policy}, ${c.level} level)`}`,
      ],
      ['result', `${mark} ${verdict(c)}`],
    ]),
  );
}

function podFrom(index: ConfigIndex, ref: PodRef, io: CommandIo, dir: string): PodInfo | undefined {
  const pod = index.pods.get(`${ref.namespace}/${ref.name}`);
  if (pod === undefined) io.stderr(`no pod ${ref.namespace}/${ref.name} in ${dir}\n`);
  return pod;
}

function tlsFromIndex(index: ConfigIndex, pod: PodInfo, port: number, root: string): TlsCheck {
  const en = enrollment(pod.labels, index.namespaces.get(pod.namespace)?.labels ?? {});
  const pa = effectivePeerAuthentication(
    { namespace: pod.namespace, labels: pod.labels },
    port,
    index.peerAuthentications,
    root,
  );
  const mutualTlsOnly = en.enrolled && pa.mode === 'STRICT';
  return {
    pod: `${pod.namespace}/${pod.name}`,
    enrolled: en.enrolled,
    enrollment: en.reason,
    mode: pa.mode,
    policy: pa.policy,
    level: pa.level === 'default' ? 'mesh default' : pa.level,
    mutualTlsOnly,
    plaintextAccepted: !mutualTlsOnly,
    source: 'config-dir',
  };
}

/**
 * From an admin /config_dump: weft-node's (captured pods) or weft-pilot's (workloads: HBONE = in the
 * mesh). STRICT as pilot sends it: the static strict policy named on the workload.
 */
function tlsFromDump(dump: AgentDump, ref: PodRef): TlsCheck | undefined {
  const same = (p: { name?: string; namespace?: string }) =>
    p.name === ref.name && p.namespace === ref.namespace;
  const workload = (dump.workloads ?? dump.discovery?.workloads)?.find(same);
  let enrolled: boolean;
  let how: string;
  if (dump.pods !== undefined) {
    const captured = dump.pods.find(same);
    if (captured === undefined && dump.optedOut?.find(same) === undefined) return undefined;
    enrolled = captured !== undefined;
    how = enrolled ? 'captured by weft-node' : 'opted out (istio.io/dataplane-mode=none)';
  } else {
    if (workload === undefined) return undefined;
    enrolled = workload.tunnelProtocol === 'HBONE';
    how = enrolled ? 'HBONE workload in weft-pilot' : 'weft-pilot sends it without HBONE (not in the mesh)';
  }
  const strictPolicy = workload?.authorizationPolicies?.find((k) =>
    k.endsWith(`/${STATIC_STRICT_POLICY_NAME}`),
  );
  const portLevel = workload?.authorizationPolicies?.find((k) =>
    k.includes('/converted_peer_authentication_'),
  );
  const mutualTlsOnly = enrolled && strictPolicy !== undefined;
  return {
    pod: `${ref.namespace}/${ref.name}`,
    enrolled,
    enrollment: how,
    mode: strictPolicy !== undefined ? 'STRICT' : 'PERMISSIVE',
    policy: strictPolicy ?? portLevel ?? null,
    level: strictPolicy !== undefined ? 'from pilot' : portLevel !== undefined ? 'port' : 'mesh default',
    mutualTlsOnly,
    plaintextAccepted: !mutualTlsOnly,
    source: 'admin',
  };
}

async function checkTls(
  args: ParsedArgs,
  io: CommandIo,
  format: OutputFormat,
  root: string,
): Promise<number> {
  const [target, ...extra] = args.positionals.slice(1);
  if (target === undefined || extra.length > 0) {
    io.stderr(`usage: ${command.usage.split('\n')[0]}\n`);
    return EXIT_USAGE;
  }
  const ref = parsePodRef(target, args.flags.namespace);
  const port = Number(args.flags.port ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.stderr('--port must be a port number\n');
    return EXIT_USAGE;
  }
  let check: TlsCheck | undefined;
  const dir = args.flags['config-dir'];
  if (dir !== undefined) {
    const index = loadConfigDir(dir, root);
    const pod = podFrom(index, ref, io, dir);
    if (pod === undefined) return EXIT_USAGE;
    check = tlsFromIndex(index, pod, port, root);
  } else {
    const admin = adminUrl(args.flags);
    if (admin === undefined) {
      io.stderr('--admin is not a URL\n');
      return EXIT_USAGE;
    }
    const dump = await getJson(io, `${admin}/config_dump`);
    if (dump === undefined) return EXIT_USAGE;
    check = tlsFromDump(dump as AgentDump, ref);
    if (check === undefined) {
      io.stderr(
        `${admin} does not know pod ${ref.namespace}/${ref.name}: is it on that node? (or use --config-dir)\n`,
      );
      return EXIT_USAGE;
    }
  }
  printTls(io, check, format);
  return check.mutualTlsOnly ? EXIT_OK : EXIT_FAILED;
}

export const command: Command = {
  name: 'check',
  summary: 'check a pod’s mutual TLS (tls) or an authorization decision (authz)',
  usage: [
    'weftctl check tls <pod> [-n ns] [--port N] [--config-dir DIR | --admin URL] [-o json|yaml]',
    'weftctl check authz <source pod> <destination pod> [METHOD PATH] --config-dir DIR [--port N] [-o json|yaml]',
    '',
    'Pods are ns/name, name.namespace or name with -n. --config-dir reads a directory of Kubernetes and',
    'Istio YAML (as weft-pilot does); --admin asks a weft-node admin endpoint (default http://127.0.0.1:15000).',
    '--root-namespace (istio-system), --trust-domain (cluster.local).',
    'Exit: tls 0 = mutual TLS only, 1 = plaintext possible; authz 0 = ALLOW, 1 = DENY; 2 = usage/connection.',
  ].join('\n'),
  async run(args: ParsedArgs, io: CommandIo): Promise<number> {
    const format = outputFormat(args);
    if (format !== 'text' && format !== 'json' && format !== 'yaml') {
      io.stderr(`${format}\n`);
      return EXIT_USAGE;
    }
    const root = args.flags['root-namespace'] ?? 'istio-system';
    const [what] = args.positionals;
    if (what === 'tls') return checkTls(args, io, format, root);
    if (what === 'authz') return checkAuthz(args, io, format, root, command.usage.split('\n')[1] ?? '');
    io.stderr(
      `${what === undefined ? 'missing' : `unknown check "${what}":`} expected tls or authz\n${command.usage}\n`,
    );
    return EXIT_USAGE;
  },
};
