/**
 * Analyzers, like `istioctl analyze`: config that is valid but probably not what was meant. Each returns
 * problems naming the object and, when it came from a file, file:line.
 */
import {
  type AuthorizationPolicy,
  type PeerAuthentication,
  peerAuthenticationLevels,
  selectorMatches,
} from '@weft/policy';
import { type ConfigIndex, locationOf, WAYPOINT_CLASS } from './config-index.js';
import { GATEWAY_API_GROUP, ISTIO_SECURITY_GROUP } from './kinds.js';
import { LABEL } from './labels.js';
import { PodIndex } from './pod-index.js';
import { ConfigCode, type ConfigProblem } from './problems.js';
import { isEnrolled, type Translation } from './translate.js';

export interface AnalyzeOptions {
  readonly rootNamespace?: string;
  readonly trustDomain?: string;
}

function where(index: ConfigIndex, kind: string, namespace: string, name: string) {
  const location = locationOf(index, ISTIO_SECURITY_GROUP, kind, namespace, name);
  return { resource: `${kind} ${namespace}/${name}`, ...(location === undefined ? {} : { location }) };
}

const podIndexes = new WeakMap<ConfigIndex, PodIndex>();

function podsSelectedBy(
  index: ConfigIndex,
  p: { namespace: string; selector?: { matchLabels: Readonly<Record<string, string>> } },
  root: string,
) {
  let pods = podIndexes.get(index);
  if (pods === undefined) {
    pods = new PodIndex(index.pods.values());
    podIndexes.set(index, pods);
  }
  return pods.select(p.namespace === root ? undefined : p.namespace, p.selector?.matchLabels);
}

function waypointsIn(index: ConfigIndex, namespace: string) {
  return index.gateways.filter((g) => g.className === WAYPOINT_CLASS && g.namespace === namespace);
}

export function analyze(
  index: ConfigIndex,
  translation: Translation,
  options: AnalyzeOptions = {},
): ConfigProblem[] {
  const root = options.rootNamespace ?? 'istio-system';
  const out: ConfigProblem[] = [];
  for (const p of index.authorizationPolicies) out.push(...analyzePolicy(index, translation, p, root));
  out.push(...analyzePeerAuthentications(index, root));
  out.push(...analyzeWaypointLabels(index));
  out.push(...analyzePods(index));
  return out;
}

function analyzePolicy(
  index: ConfigIndex,
  translation: Translation,
  p: AuthorizationPolicy,
  root: string,
): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const at = where(index, 'AuthorizationPolicy', p.namespace, p.name);
  if (p.selector !== undefined && podsSelectedBy(index, p, root).length === 0) {
    out.push({
      code: ConfigCode.SelectsNothing,
      severity: 'warning',
      path: 'spec.selector',
      message: `selects no workload (matchLabels ${JSON.stringify(p.selector.matchLabels)} in ${p.namespace === root ? 'any namespace' : `namespace ${p.namespace}`})`,
      ...at,
    });
  }
  for (const [i, ref] of p.targetRefs.entries()) {
    if (ref.kind === 'Gateway') {
      const gw = index.gateways.find(
        (g) => g.group === GATEWAY_API_GROUP && g.namespace === ref.namespace && g.name === ref.name,
      );
      if (gw === undefined) {
        out.push({
          code: ConfigCode.BadTargetRef,
          severity: 'warning',
          path: `spec.targetRefs[${i}]`,
          message: `Gateway ${ref.namespace}/${ref.name} does not exist; this policy is enforced nowhere`,
          ...at,
        });
      }
    } else if (ref.kind === 'Service') {
      const svc = [...translation.state.services.values()].find(
        (x) => x.namespace === ref.namespace && x.name === ref.name,
      );
      const exists = index.services.has(`${ref.namespace}/${ref.name}`);
      if (!exists || (svc !== undefined && svc.waypoint === undefined)) {
        out.push({
          code: ConfigCode.BadTargetRef,
          severity: 'warning',
          path: `spec.targetRefs[${i}]`,
          message: exists
            ? `Service ${ref.namespace}/${ref.name} has no waypoint (label it ${LABEL.useWaypoint}=<waypoint>); nothing enforces this policy`
            : `Service ${ref.namespace}/${ref.name} does not exist`,
          ...at,
        });
      }
    }
  }
  const warnings = translation.projectionWarnings.get(`${p.namespace}/${p.name}`) ?? [];
  const l7 = warnings.find((w) => w.includes('HTTP attributes'));
  if (l7 !== undefined && p.targetRefs.length === 0) {
    const hasWaypoint = waypointsIn(index, p.namespace).length > 0;
    out.push({
      code: ConfigCode.L7WithoutWaypoint,
      severity: 'warning',
      path: 'spec.rules',
      message: `${l7}${hasWaypoint ? ` Bind it to the waypoint with targetRefs (kind: Gateway) instead of ${p.selector === undefined ? 'namespace scope' : 'a selector'}.` : ' No waypoint exists in this namespace.'}`,
      ...at,
    });
  }
  if (p.action === 'ALLOW') {
    const grantsDefault = p.rules.some((r) =>
      r.from.some(
        (f) =>
          f.principals.some((x: string) => x.endsWith('/sa/default')) ||
          f.serviceAccounts.some((x: string) => x === 'default' || x.endsWith('/default')),
      ),
    );
    if (grantsDefault) {
      out.push({
        code: ConfigCode.DefaultServiceAccount,
        severity: 'warning',
        path: 'spec.rules',
        message:
          'allows the `default` service account: every pod without its own service account shares that identity and gets this access. Give the caller its own ServiceAccount.',
        ...at,
      });
    }
    const selected = p.selector === undefined ? [] : podsSelectedBy(index, p, root);
    const onDefault = selected.filter((pod) => pod.serviceAccount === 'default');
    if (onDefault.length > 0) {
      out.push({
        code: ConfigCode.DefaultServiceAccount,
        severity: 'info',
        path: 'spec.selector',
        message: `selects pods running as the \`default\` service account (${onDefault
          .slice(0, 3)
          .map((x) => `${x.namespace}/${x.name}`)
          .join(', ')}): policies that allow them by identity also allow every other such pod`,
        ...at,
      });
    }
  }
  return out;
}

function paScope(p: PeerAuthentication, root: string): 'mesh' | 'namespace' | 'workload' {
  if (p.selector !== undefined && Object.keys(p.selector.matchLabels).length > 0) return 'workload';
  return p.namespace === root ? 'mesh' : 'namespace';
}

function analyzePeerAuthentications(index: ConfigIndex, root: string): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const pas = index.peerAuthentications;
  // Competing policies at one level.
  const levels = new Map<string, PeerAuthentication[]>();
  for (const p of pas) {
    const scope = paScope(p, root);
    if (scope === 'workload') continue;
    const key = scope === 'mesh' ? 'mesh' : `ns:${p.namespace}`;
    levels.set(key, [...(levels.get(key) ?? []), p]);
  }
  for (const list of levels.values()) {
    if (list.length < 2) continue;
    for (const p of list.slice(1)) {
      out.push({
        code: ConfigCode.Conflict,
        severity: 'warning',
        message: `${list.length} ${paScope(p, root)}-wide PeerAuthentications (${list.map((x) => x.name).join(', ')}); only the oldest applies`,
        ...where(index, 'PeerAuthentication', p.namespace, p.name),
      });
    }
  }
  const mesh = pas.find((p) => paScope(p, root) === 'mesh' && p.mode === 'STRICT');
  for (const p of pas) {
    const at = where(index, 'PeerAuthentication', p.namespace, p.name);
    const scope = paScope(p, root);
    if (mesh !== undefined && scope === 'namespace' && p.mode === 'PERMISSIVE') {
      out.push({
        code: ConfigCode.PermissiveOverride,
        severity: 'warning',
        path: 'spec.mtls.mode',
        message: `PERMISSIVE in namespace ${p.namespace} while the mesh is STRICT (${mesh.namespace}/${mesh.name}): plaintext is accepted here. Remove it once every client is in the mesh.`,
        ...at,
      });
    }
    if (p.mode !== 'STRICT' && ![...p.portLevelMtls.values()].includes('STRICT')) continue;
    const selected =
      scope === 'mesh'
        ? [...index.pods.values()]
        : [...index.pods.values()].filter(
            (pod) => pod.namespace === p.namespace && selectorMatches(p.selector, pod.labels),
          );
    const notEnrolled = selected.filter((pod) => {
      const lv = peerAuthenticationLevels({ namespace: pod.namespace, labels: pod.labels }, pas, root);
      const winner = lv.workload ?? lv.namespace ?? lv.mesh;
      return winner === p && !isEnrolled(pod, index.namespaces.get(pod.namespace)?.labels ?? {});
    });
    if (notEnrolled.length > 0) {
      out.push({
        code: ConfigCode.StrictNotEnrolled,
        severity: 'warning',
        path: 'spec.mtls.mode',
        message: `STRICT applies to ${notEnrolled.length} pod(s) not in the mesh (${notEnrolled
          .slice(0, 3)
          .map((x) => `${x.namespace}/${x.name}`)
          .join(', ')}): nothing enforces it there. Label the namespace ${LABEL.dataplaneMode}=ambient.`,
        ...at,
      });
    }
  }
  return out;
}

function analyzeWaypointLabels(index: ConfigIndex): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const check = (
    kind: string,
    group: string,
    namespace: string,
    name: string,
    labels: Readonly<Record<string, string>>,
  ) => {
    const wp = labels[LABEL.useWaypoint];
    if (wp === undefined || wp === '' || wp === 'none') return;
    const ns = labels[LABEL.useWaypointNamespace] ?? (kind === 'Namespace' ? name : namespace);
    const exists = index.gateways.some(
      (g) => g.className === WAYPOINT_CLASS && g.namespace === ns && g.name === wp,
    );
    if (exists) return;
    const location = locationOf(index, group, kind, kind === 'Namespace' ? '' : namespace, name);
    out.push({
      code: ConfigCode.MissingWaypoint,
      severity: 'warning',
      resource: kind === 'Namespace' ? `Namespace ${name}` : `${kind} ${namespace}/${name}`,
      path: `metadata.labels["${LABEL.useWaypoint}"]`,
      message: `waypoint ${ns}/${wp} does not exist (a Gateway with gatewayClassName ${WAYPOINT_CLASS}); traffic bypasses L7 policy`,
      ...(location === undefined ? {} : { location }),
    });
  };
  for (const ns of index.namespaces.values()) check('Namespace', '', '', ns.name, ns.labels);
  for (const s of index.services.values()) check('Service', '', s.namespace, s.name, s.labels);
  for (const p of index.pods.values()) check('Pod', '', p.namespace, p.name, p.labels);
  return out;
}

function analyzePods(index: ConfigIndex): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const p of index.pods.values()) {
    const location = locationOf(index, '', 'Pod', p.namespace, p.name);
    const at = { resource: `Pod ${p.namespace}/${p.name}`, ...(location === undefined ? {} : { location }) };
    if (p.ips.length === 0 && p.phase === 'Running') {
      out.push({
        code: ConfigCode.PodNotRoutable,
        severity: 'warning',
        path: 'status.podIP',
        message: 'no pod IP: the pod gets no Workload',
        ...at,
      });
    }
    if (index.nodes.size > 0 && p.nodeName !== '' && !index.nodes.has(p.nodeName)) {
      out.push({
        code: ConfigCode.PodNotRoutable,
        severity: 'warning',
        path: 'spec.nodeName',
        message: `node ${p.nodeName} has no Node object: no agent will serve this pod or get its certificate`,
        ...at,
      });
    }
  }
  return out;
}
