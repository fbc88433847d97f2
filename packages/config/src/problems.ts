/**
 * Problems found in config: values, not exceptions, each with a stable code, the object it is about and,
 * when it came from a file, file:line. A bad object is skipped; the rest keeps flowing.
 */
import type { Problem as PolicyProblem } from '@weft/policy';

export const ConfigCode = {
  /** The YAML does not parse. */
  BadYaml: 'WEFT_CONFIG_BAD_YAML',
  /** A document is not a Kubernetes object (no apiVersion/kind/metadata.name). */
  NotAnObject: 'WEFT_CONFIG_NOT_AN_OBJECT',
  /** A kind Weft does not read; ignored. */
  UnknownKind: 'WEFT_CONFIG_UNKNOWN_KIND',
  /** Two objects with the same kind, namespace and name; the first one wins. */
  Duplicate: 'WEFT_CONFIG_DUPLICATE',
  /** A file over the size limit; skipped. */
  TooLarge: 'WEFT_CONFIG_TOO_LARGE',
  /** An object of a known kind with a bad field (ports, IPs, names…); skipped. */
  InvalidObject: 'WEFT_CONFIG_INVALID_OBJECT',
  /** Analyzer: a selector policy that selects no workload. */
  SelectsNothing: 'WEFT_CONFIG_SELECTS_NOTHING',
  /** Analyzer: HTTP attributes in a policy only the node agent (L4) would enforce. */
  L7WithoutWaypoint: 'WEFT_CONFIG_L7_WITHOUT_WAYPOINT',
  /** Analyzer: a targetRef naming a Gateway/Service that does not exist or is not a waypoint. */
  BadTargetRef: 'WEFT_CONFIG_BAD_TARGET_REF',
  /** Analyzer: STRICT mTLS on workloads that are not in the mesh (nobody enforces it). */
  StrictNotEnrolled: 'WEFT_CONFIG_STRICT_NOT_ENROLLED',
  /** Analyzer: an ALLOW policy granting access to (or selecting workloads running as) a `default` service account. */
  DefaultServiceAccount: 'WEFT_CONFIG_DEFAULT_SERVICE_ACCOUNT',
  /** Analyzer: PERMISSIVE in a namespace while the mesh-wide policy is STRICT. */
  PermissiveOverride: 'WEFT_CONFIG_PERMISSIVE_OVERRIDE',
  /** Analyzer: several policies compete for the same level (oldest wins). */
  Conflict: 'WEFT_CONFIG_CONFLICT',
  /** Analyzer: a use-waypoint label names a waypoint that does not exist. */
  MissingWaypoint: 'WEFT_CONFIG_MISSING_WAYPOINT',
  /** Analyzer: a pod scheduled on a node with no Node object, or without an IP. */
  PodNotRoutable: 'WEFT_CONFIG_POD_NOT_ROUTABLE',
} as const;
export type ConfigCode = (typeof ConfigCode)[keyof typeof ConfigCode];

export interface SourceLocation {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly column?: number;
}

export interface ConfigProblem {
  /** A ConfigCode, or a @weft/policy code (WEFT_POLICY_*) for security kinds. */
  readonly code: string;
  /** `error`: the object was skipped; `warning`: used, but probably not what was meant; `info`. */
  readonly severity: 'error' | 'warning' | 'info';
  readonly message: string;
  /** `Kind namespace/name`, when the problem is about one object. */
  readonly resource?: string;
  /** Field path inside the object, e.g. spec.rules[0].from[0].source.principals[1]. */
  readonly path?: string;
  readonly location?: SourceLocation;
}

export function formatLocation(l: SourceLocation | undefined): string {
  return l === undefined ? '' : `${l.file}:${l.line}`;
}

/** istioctl-analyze style: `Error [CODE] (Kind ns/name) file:line path: message`. */
export function formatConfigProblem(p: ConfigProblem): string {
  const level = p.severity === 'error' ? 'Error' : p.severity === 'warning' ? 'Warning' : 'Info';
  const where = [p.resource === undefined ? '' : `(${p.resource})`, formatLocation(p.location)]
    .filter((s) => s !== '')
    .join(' ');
  const path = p.path === undefined || p.path === '' ? '' : `${p.path}: `;
  return `${level} [${p.code}]${where === '' ? '' : ` ${where}`} ${path}${p.message}`;
}

export function fromPolicyProblem(p: PolicyProblem, location: SourceLocation | undefined): ConfigProblem {
  return {
    code: p.code,
    severity: p.severity,
    message: p.message,
    resource: p.resource,
    path: p.path,
    ...(location === undefined ? {} : { location }),
  };
}
