/** The `when` condition keys Istio supports, parsed once into a typed attribute. */
import { parseCidr } from './ip.js';
import { PolicyErrorCode as C, type ProblemList } from './problems.js';
import { checkServiceAccountValue, checkWildcard, parsePort } from './validate-common.js';

export type WhenAttribute =
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'claims'; readonly path: readonly string[] }
  | {
      readonly kind:
        | 'source.ip'
        | 'remote.ip'
        | 'source.namespace'
        | 'source.principal'
        | 'source.serviceAccount'
        | 'request.auth.principal'
        | 'request.auth.audiences'
        | 'request.auth.presenter'
        | 'destination.ip'
        | 'destination.port'
        | 'connection.sni'
        | 'experimental';
    };

const SIMPLE = new Set([
  'source.ip',
  'remote.ip',
  'source.namespace',
  'source.principal',
  'source.serviceAccount',
  'request.auth.principal',
  'request.auth.audiences',
  'request.auth.presenter',
  'destination.ip',
  'destination.port',
  'connection.sni',
]);

/** The keys the node agent can evaluate (istiod keeps these in the L4 projection). */
export const L4_WHEN_KEYS: ReadonlySet<string> = new Set([
  'source.ip',
  'source.namespace',
  'source.principal',
  'destination.ip',
  'destination.port',
]);

function brackets(rest: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (i < rest.length) {
    if (rest[i] !== '[') return null;
    const end = rest.indexOf(']', i);
    if (end === -1) return null;
    const part = rest.slice(i + 1, end);
    if (part === '' || part.includes('[')) return null;
    out.push(part);
    i = end + 1;
  }
  return out.length > 0 ? out : null;
}

export function parseWhenKey(key: string): WhenAttribute | null {
  if (SIMPLE.has(key)) return { kind: key } as WhenAttribute;
  if (key.startsWith('experimental.envoy.filters.')) return { kind: 'experimental' };
  for (const prefix of ['request.headers', 'request.experimental.inline.headers']) {
    if (key.startsWith(prefix)) {
      const parts = brackets(key.slice(prefix.length));
      return parts?.length === 1 ? { kind: 'header', name: parts[0]!.toLowerCase() } : null;
    }
  }
  if (key.startsWith('request.auth.claims')) {
    const parts = brackets(key.slice('request.auth.claims'.length));
    return parts === null ? null : { kind: 'claims', path: parts };
  }
  return null;
}

/** Keys older Istio versions had; Istio rejects them with these hints. */
const RETIRED: ReadonlyArray<[string, string]> = [
  ['destination.namespace', "is replaced by the policy's metadata.namespace"],
  ['destination.labels', 'is replaced by the workload selector'],
  ['destination.name', 'is deprecated (v1alpha1 only)'],
  ['destination.user', 'is deprecated (v1alpha1 only)'],
];

export function checkWhenKey(key: string, path: string, p: ProblemList): void {
  const attr = parseWhenKey(key);
  const retired = RETIRED.find(([k]) => key === k || key.startsWith(`${k}[`));
  if (retired !== undefined) {
    p.error(C.BadWhenKey, path, `"${key}" ${retired[1]}`);
    return;
  }
  if (attr === null) {
    p.error(
      C.BadWhenKey,
      path,
      `"${key}" is not a supported key (request.headers[<name>], source.ip, remote.ip, source.namespace, source.principal, request.auth.principal, request.auth.audiences, request.auth.presenter, request.auth.claims[<claim>]..., destination.ip, destination.port, connection.sni)`,
    );
  } else if (attr.kind === 'experimental') {
    p.warn(
      C.BadWhenKey,
      path,
      `"${key}" (Envoy filter metadata) is not available here; the condition never matches`,
    );
  }
}

export function checkWhenValue(key: string, v: string, path: string, p: ProblemList): void {
  const attr = parseWhenKey(key);
  if (attr === null) return;
  switch (attr.kind) {
    case 'source.ip':
    case 'remote.ip':
    case 'destination.ip':
      if (parseCidr(v) === null) p.error(C.BadCidr, path, `"${v}" is not an IP address or CIDR range`);
      return;
    case 'destination.port':
      if (parsePort(v) === null) p.error(C.BadPort, path, `"${v}" is not a port number 0-65535`);
      return;
    case 'source.serviceAccount':
      checkServiceAccountValue(v, path, p);
      return;
    default:
      checkWildcard(v, path, p);
  }
}
