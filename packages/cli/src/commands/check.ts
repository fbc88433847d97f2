/**
 * `weftctl check tls <pod>`: which mTLS mode applies to a pod and whether traffic to it is mutual TLS.
 * `weftctl check authz <src> <dst> [METHOD PATH]`: the authorization decision, and the policy and rule
 * that made it. Both read a directory of YAML (--config-dir, the embedded config source); `check tls`
 * can ask a node agent's admin endpoint instead (--admin).
 */
import type { ConfigIndex, PodInfo } from '@weft/config';
import {
  compilePolicies,
  type Decision,
  type EffectiveMtlsMode,
  effectivePeerAuthentication,
  evaluate,
  type RequestAttributes,
  STATIC_STRICT_POLICY_NAME,
} from '@weft/policy';
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
import { fields, formatData, type OutputFormat, outputFormat, paint, toYaml } from '../output.js';

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

export interface AuthzCheck {
  source: string;
  destination: string;
  request: { principal: string | null; port: number; method?: string; path?: string };
  allowed: boolean;
  /** Who decided: a policy, the PeerAuthentication, or that nothing is enforced. */
  decidedBy: 'authorization-policy' | 'no-policy' | 'peer-authentication' | 'not-in-mesh';
  reason: string;
  policy: string | null;
  ruleIndex: number | null;
  rule: unknown;
  enforcedAt: 'weft-node (L4)' | 'waypoint (L7)' | 'nowhere';
  /** file:line of the deciding policy. */
  location?: string;
}

function describeAuthz(io: CommandIo, c: AuthzCheck, format: OutputFormat): void {
  if (format !== 'text') {
    io.stdout(formatData(c, format));
    return;
  }
  const what = `${c.request.method ?? 'TCP'} ${c.request.path ?? ''}`.trim();
  io.stdout(
    fields([
      [
        'from',
        `${c.source}${c.request.principal === null ? ' (plaintext, no identity)' : ` (${c.request.principal})`}`,
      ],
      ['to', `${c.destination} port ${c.request.port} ${what}`],
      ['decision', c.allowed ? paint(io, 'green', 'ALLOW') : paint(io, 'red', 'DENY')],
      ['because', c.reason],
      ['enforced by', c.enforcedAt],
    ]),
  );
  if (c.rule !== undefined && c.rule !== null)
    io.stdout(
      `rule ${c.ruleIndex} of ${c.policy}${c.location === undefined ? '' : ` (${c.location})`}:\n${toYaml(c.rule).replace(/^/gm, '  ').trimEnd()}\n`,
    );
}

async function checkAuthz(
  args: ParsedArgs,
  io: CommandIo,
  format: OutputFormat,
  root: string,
): Promise<number> {
  const [srcArg, dstArg, method, path, ...extra] = args.positionals.slice(1);
  const dir = args.flags['config-dir'];
  if (
    srcArg === undefined ||
    dstArg === undefined ||
    extra.length > 0 ||
    (method !== undefined && path === undefined)
  ) {
    io.stderr(`usage: ${command.usage.split('\n')[1]}\n`);
    return EXIT_USAGE;
  }
  if (dir === undefined) {
    io.stderr('check authz needs --config-dir DIR (the YAML the mesh runs with)\n');
    return EXIT_USAGE;
  }
  const port = Number(args.flags.port ?? '80');
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    io.stderr('--port must be a port number 1-65535\n');
    return EXIT_USAGE;
  }
  const trustDomain = args.flags['trust-domain'] ?? 'cluster.local';
  const index = loadConfigDir(dir, root);
  const src = podFrom(index, parsePodRef(srcArg, args.flags.namespace), io, dir);
  const dst = podFrom(index, parsePodRef(dstArg, args.flags.namespace), io, dir);
  if (src === undefined || dst === undefined) return EXIT_USAGE;
  const nsLabels = (p: PodInfo) => index.namespaces.get(p.namespace)?.labels ?? {};
  const srcIn = enrollment(src.labels, nsLabels(src)).enrolled;
  const dstIn = enrollment(dst.labels, nsLabels(dst));
  const principal = srcIn ? `${trustDomain}/ns/${src.namespace}/sa/${src.serviceAccount}` : null;
  const http = method === undefined ? undefined : { method: method.toUpperCase(), path: path ?? '/' };
  const base = {
    source: `${src.namespace}/${src.name}`,
    destination: `${dst.namespace}/${dst.name}`,
    request: { principal, port, ...(http === undefined ? {} : http) },
  };
  let result: AuthzCheck;
  if (!dstIn.enrolled) {
    result = {
      ...base,
      allowed: true,
      decidedBy: 'not-in-mesh',
      reason: `${base.destination} is not in the mesh (${dstIn.reason}): no policy is enforced`,
      policy: null,
      ruleIndex: null,
      rule: null,
      enforcedAt: 'nowhere',
    };
  } else {
    const pa = effectivePeerAuthentication(
      { namespace: dst.namespace, labels: dst.labels },
      port,
      index.peerAuthentications,
      root,
    );
    if (principal === null && pa.mode === 'STRICT') {
      result = {
        ...base,
        allowed: false,
        decidedBy: 'peer-authentication',
        reason: `plaintext refused: STRICT mTLS from ${pa.policy === null ? 'the mesh' : `PeerAuthentication ${pa.policy}`} and ${base.source} is not in the mesh`,
        policy: pa.policy,
        ruleIndex: null,
        rule: null,
        enforcedAt: 'weft-node (L4)',
      };
    } else {
      const set = compilePolicies({
        authorizationPolicies: index.authorizationPolicies,
        rootNamespace: root,
        trustDomain,
      });
      const request: RequestAttributes = {
        ...(principal === null ? {} : { sourcePrincipal: principal }),
        sourceNamespace: src.namespace,
        ...(src.ips[0] === undefined ? {} : { sourceIp: src.ips[0] }),
        ...(dst.ips[0] === undefined ? {} : { destinationIp: dst.ips[0] }),
        destinationPort: port,
        ...(http === undefined ? {} : { http }),
      };
      const decision: Decision = evaluate(
        set.forWorkload({ namespace: dst.namespace, labels: dst.labels }),
        request,
      );
      const policy = decision.policy;
      // The rule as the user wrote it (with its file:line), not the compiled form.
      const raw =
        policy === undefined
          ? undefined
          : [...index.objects.values()].find(
              (o) =>
                o.kind === 'AuthorizationPolicy' &&
                o.namespace === policy.namespace &&
                o.name === policy.name,
            );
      const rules = (raw?.object.spec as { rules?: unknown[] } | undefined)?.rules;
      const location = raw?.location === undefined ? undefined : `${raw.location.file}:${raw.location.line}`;
      result = {
        ...base,
        allowed: decision.allowed,
        decidedBy: policy === undefined ? 'no-policy' : 'authorization-policy',
        reason: decision.reason,
        policy: policy?.policy ?? null,
        ruleIndex: decision.ruleIndex ?? null,
        rule: decision.ruleIndex === undefined ? null : (rules?.[decision.ruleIndex] ?? null),
        ...(location === undefined ? {} : { location }),
        enforcedAt: http === undefined ? 'weft-node (L4)' : 'waypoint (L7)',
      };
    }
  }
  describeAuthz(io, result, format);
  return result.allowed ? EXIT_OK : EXIT_FAILED;
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
    if (what === 'authz') return checkAuthz(args, io, format, root);
    io.stderr(
      `${what === undefined ? 'missing' : `unknown check "${what}":`} expected tls or authz\n${command.usage}\n`,
    );
    return EXIT_USAGE;
  },
};
