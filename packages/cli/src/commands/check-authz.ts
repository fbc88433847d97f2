/**
 * `weftctl check authz <src> <dst> [METHOD PATH]`: the authorization decision as the mesh makes it. When the
 * destination is reached through a waypoint (istio.io/use-waypoint on its Service, pod or namespace) there
 * are two layers: the waypoint's L7 decision (targetRef policies on the waypoint Gateway and the Service,
 * plus selector policies matching the waypoint; a deny is a 403 `RBAC: access denied`), then the
 * destination node agent's L4 decision. Either denying denies.
 */
import {
  type ConfigIndex,
  type GatewayAddress,
  type GatewayInfo,
  type PodInfo,
  translate,
  WAYPOINT_CLASS,
  waypointAddress,
} from '@weft/config';
import {
  bundlePolicies,
  type CompiledAuthorizationPolicy,
  compilePolicies,
  type Decision,
  effectivePeerAuthentication,
  explain,
  formatExplanation,
  type PolicySet,
  type PolicyTrace,
  type RequestAttributes,
} from '@weft/policy';
import { type CommandIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, type ParsedArgs } from '../command.js';
import { enrollment, loadConfigDir, parsePodRef } from '../config-dir.js';
import { fields, formatData, type OutputFormat, paint, toYaml } from '../output.js';

type EnforcedAt = 'weft-node (L4)' | 'waypoint (L7)' | 'nowhere';
type DecidedBy = 'authorization-policy' | 'no-policy' | 'peer-authentication' | 'not-in-mesh';

/** One enforcement point's decision. */
export interface AuthzLayer {
  enforcedAt: EnforcedAt;
  /** `namespace/name` of the waypoint Gateway (waypoint layer only). */
  waypoint?: string;
  allowed: boolean;
  decidedBy: DecidedBy;
  reason: string;
  policy: string | null;
  ruleIndex: number | null;
  rule: unknown;
  location?: string;
  /** Every policy that applies there and which rule matched (from @weft/policy's explain). */
  policies: PolicyTrace[];
  /** The same, one line per policy (@weft/policy's formatExplanation). */
  explanation: string;
  /** What a client sees when this layer denies. */
  denial?: string;
}

export interface AuthzCheck {
  source: string;
  destination: string;
  request: { principal: string | null; port: number; method?: string; path?: string };
  allowed: boolean;
  /** Who decided: a policy, the PeerAuthentication, or that nothing is enforced. */
  decidedBy: DecidedBy;
  reason: string;
  policy: string | null;
  ruleIndex: number | null;
  rule: unknown;
  enforcedAt: EnforcedAt;
  /** file:line of the deciding policy. */
  location?: string;
  /** `namespace/name` of the waypoint traffic to the destination goes through, null when none. */
  waypoint: string | null;
  /** The Services (`namespace/name`) whose traffic goes through that waypoint. */
  waypointServices: string[];
  /** Every enforcement point in path order (waypoint first); the overall decision denies if any denies. */
  layers: AuthzLayer[];
}

const DOMAIN = 'cluster.local';

function sameAddress(a: GatewayAddress, b: GatewayAddress): boolean {
  if (a.address !== undefined) return b.address?.ip === a.address.ip;
  return a.hostname !== undefined && b.hostname?.hostname === a.hostname.hostname;
}

function waypointFor(index: ConfigIndex, addr: GatewayAddress): GatewayInfo | undefined {
  return index.gateways.find(
    (g) => g.className === WAYPOINT_CLASS && sameAddress(addr, waypointAddress(g, index, DOMAIN, '')),
  );
}

interface WaypointPath {
  gateway: GatewayInfo;
  services: { namespace: string; name: string }[];
}

/** The waypoint in front of `dst`: its Services' first, then the pod's/namespace's own. */
function waypointPath(
  index: ConfigIndex,
  dst: PodInfo,
  root: string,
  trustDomain: string,
): WaypointPath | undefined {
  const state = translate(index, { rootNamespace: root, trustDomain }).state;
  const workload = [...state.workloads.values()].find(
    (w) => w.namespace === dst.namespace && w.name === dst.name,
  );
  if (workload === undefined) return undefined;
  let path: WaypointPath | undefined;
  for (const key of Object.keys(workload.services)) {
    const svc = state.services.get(key);
    if (svc?.waypoint === undefined) continue;
    const gw = waypointFor(index, svc.waypoint);
    if (gw === undefined) continue;
    if (path === undefined) path = { gateway: gw, services: [] };
    if (path.gateway === gw) path.services.push({ namespace: svc.namespace, name: svc.name });
  }
  if (path === undefined && workload.waypoint !== undefined) {
    const gw = waypointFor(index, workload.waypoint);
    if (gw !== undefined) path = { gateway: gw, services: [] };
  }
  return path;
}

/** The waypoint's policies, as the waypoint collects them: targetRef'd, plus selector policies matching it. */
function waypointPolicies(
  set: PolicySet,
  index: ConfigIndex,
  path: WaypointPath,
): CompiledAuthorizationPolicy[] {
  const gw = path.gateway;
  const list = [
    ...set.forTargets({ gateway: { namespace: gw.namespace, name: gw.name }, services: path.services }).all,
  ];
  const pod = [...index.pods.values()].find(
    (p) => p.namespace === gw.namespace && p.labels['gateway.networking.k8s.io/gateway-name'] === gw.name,
  );
  const labels = pod?.labels ?? {
    'gateway.networking.k8s.io/gateway-name': gw.name,
    'istio.io/gateway-name': gw.name,
  };
  // Namespace-wide policies without a targetRef are the node agents' to enforce, not the waypoint's.
  for (const p of set.forWorkload({ namespace: gw.namespace, labels }).all)
    if (p.policy.selector !== undefined && !list.includes(p)) list.push(p);
  return list;
}

/** The rule as the user wrote it (with its file:line), not the compiled form. */
function asWritten(index: ConfigIndex, d: Decision): { rule: unknown; location?: string } {
  const policy = d.policy;
  if (policy === undefined) return { rule: null };
  const raw = [...index.objects.values()].find(
    (o) => o.kind === 'AuthorizationPolicy' && o.namespace === policy.namespace && o.name === policy.name,
  );
  const rules = (raw?.object.spec as { rules?: unknown[] } | undefined)?.rules;
  return {
    rule: d.ruleIndex === undefined ? null : (rules?.[d.ruleIndex] ?? null),
    ...(raw?.location === undefined ? {} : { location: `${raw.location.file}:${raw.location.line}` }),
  };
}

function layerFrom(
  index: ConfigIndex,
  policies: readonly CompiledAuthorizationPolicy[],
  request: RequestAttributes,
  enforcedAt: EnforcedAt,
): AuthzLayer {
  const e = explain(bundlePolicies(policies), request);
  const d = e.decision;
  const { rule, location } = asWritten(index, d);
  return {
    enforcedAt,
    allowed: d.allowed,
    // "allow policies exist, none matched" is still the policies' decision.
    decidedBy: d.kind === 'no-policies' ? 'no-policy' : 'authorization-policy',
    reason: d.reason,
    policy: d.policy?.policy ?? null,
    ruleIndex: d.ruleIndex ?? null,
    rule,
    ...(location === undefined ? {} : { location }),
    policies: [...e.policies],
    explanation: formatExplanation(e),
  };
}

function printRule(io: CommandIo, l: AuthzLayer, indent: string): void {
  if (l.rule === undefined || l.rule === null) return;
  io.stdout(
    `${indent}rule ${l.ruleIndex} of ${l.policy}${l.location === undefined ? '' : ` (${l.location})`}:\n${toYaml(l.rule).replace(/^/gm, `${indent}  `).trimEnd()}\n`,
  );
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
      ...(c.waypoint === null
        ? []
        : ([
            [
              'via waypoint',
              `${c.waypoint}${c.waypointServices.length === 0 ? '' : ` (for ${c.waypointServices.join(', ')})`}`,
            ],
          ] as [string, string][])),
      ['decision', c.allowed ? paint(io, 'green', 'ALLOW') : paint(io, 'red', 'DENY')],
      ['because', c.reason],
      ['enforced by', c.enforcedAt],
    ]),
  );
  if (c.layers.length < 2) {
    const only = c.layers[0];
    if (only !== undefined) printRule(io, only, '');
    return;
  }
  for (const l of c.layers) {
    const mark = l.allowed ? paint(io, 'green', 'ALLOW') : paint(io, 'red', 'DENY');
    const where = l.waypoint === undefined ? l.enforcedAt : `${l.enforcedAt} ${l.waypoint}`;
    io.stdout(`\n${where}: ${mark}${l.denial === undefined ? '' : ` (${l.denial})`}\n`);
    io.stdout(`${l.explanation.replace(/^/gm, '  ')}\n`);
    printRule(io, l, '  ');
  }
}

export async function checkAuthz(
  args: ParsedArgs,
  io: CommandIo,
  format: OutputFormat,
  root: string,
  usage: string,
): Promise<number> {
  const [srcArg, dstArg, method, path, ...extra] = args.positionals.slice(1);
  const dir = args.flags['config-dir'];
  if (
    srcArg === undefined ||
    dstArg === undefined ||
    extra.length > 0 ||
    (method !== undefined && path === undefined)
  ) {
    io.stderr(`usage: ${usage}\n`);
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
  const podFrom = (arg: string): PodInfo | undefined => {
    const ref = parsePodRef(arg, args.flags.namespace);
    const pod = index.pods.get(`${ref.namespace}/${ref.name}`);
    if (pod === undefined) io.stderr(`no pod ${ref.namespace}/${ref.name} in ${dir}\n`);
    return pod;
  };
  const src = podFrom(srcArg);
  const dst = podFrom(dstArg);
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
  const layers: AuthzLayer[] = [];
  let via: WaypointPath | undefined;
  if (!dstIn.enrolled) {
    layers.push({
      enforcedAt: 'nowhere',
      allowed: true,
      decidedBy: 'not-in-mesh',
      reason: `${base.destination} is not in the mesh (${dstIn.reason}): no policy is enforced`,
      policy: null,
      ruleIndex: null,
      rule: null,
      policies: [],
      explanation: '',
    });
  } else {
    const pa = effectivePeerAuthentication(
      { namespace: dst.namespace, labels: dst.labels },
      port,
      index.peerAuthentications,
      root,
    );
    if (principal === null && pa.mode === 'STRICT') {
      layers.push({
        enforcedAt: 'weft-node (L4)',
        allowed: false,
        decidedBy: 'peer-authentication',
        reason: `plaintext refused: STRICT mTLS from ${pa.policy === null ? 'the mesh' : `PeerAuthentication ${pa.policy}`} and ${base.source} is not in the mesh`,
        policy: pa.policy,
        ruleIndex: null,
        rule: null,
        policies: [],
        explanation: '',
      });
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
      // Only mesh sources go through the waypoint (plaintext sources reach the pod directly).
      via = principal === null ? undefined : waypointPath(index, dst, root, trustDomain);
      if (via !== undefined) {
        const w = layerFrom(index, waypointPolicies(set, index, via), request, 'waypoint (L7)');
        w.waypoint = `${via.gateway.namespace}/${via.gateway.name}`;
        if (!w.allowed) w.denial = http === undefined ? 'connection closed' : '403 RBAC: access denied';
        layers.push(w);
      }
      const node = layerFrom(
        index,
        set.forWorkload({ namespace: dst.namespace, labels: dst.labels }).all,
        request,
        via !== undefined || http === undefined ? 'weft-node (L4)' : 'waypoint (L7)',
      );
      if (via !== undefined && !node.allowed) node.denial = 'connection closed by the node agent';
      layers.push(node);
    }
  }
  // The first layer that denies decides; when all allow, the first one a policy decided (else the last).
  const decider =
    layers.find((l) => !l.allowed) ??
    layers.find((l) => l.decidedBy !== 'no-policy') ??
    (layers[layers.length - 1] as AuthzLayer);
  const result: AuthzCheck = {
    ...base,
    allowed: layers.every((l) => l.allowed),
    decidedBy: decider.decidedBy,
    reason: decider.reason,
    policy: decider.policy,
    ruleIndex: decider.ruleIndex,
    rule: decider.rule,
    enforcedAt: decider.enforcedAt,
    ...(decider.location === undefined ? {} : { location: decider.location }),
    waypoint: via === undefined ? null : `${via.gateway.namespace}/${via.gateway.name}`,
    waypointServices: via?.services.map((s) => `${s.namespace}/${s.name}`) ?? [],
    layers,
  };
  describeAuthz(io, result, format);
  return result.allowed ? EXIT_OK : EXIT_FAILED;
}
