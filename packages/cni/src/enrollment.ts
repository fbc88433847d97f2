/**
 * Which pods weft-node captures, and whether a failure to hand one over must block the pod (fail
 * closed). Pure: the inputs come from the Kubernetes API or the plugin config.
 */

export const DATAPLANE_MODE_LABEL = 'istio.io/dataplane-mode';

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

/** The fields of a security.istio.io PeerAuthentication this decision reads. */
export interface PeerAuthenticationObject {
  metadata?: { name?: string; namespace?: string; creationTimestamp?: string };
  spec?: {
    selector?: { matchLabels?: Record<string, string> } | null;
    mtls?: { mode?: string } | null;
  };
}

export interface EnrollmentInput {
  namespace: string;
  namespaceLabels: Readonly<Record<string, string>>;
  podLabels: Readonly<Record<string, string>>;
  podAnnotations?: Readonly<Record<string, string>>;
  excludeNamespaces: readonly string[];
}

export interface Enrollment {
  enrolled: boolean;
  /** Why, for the log line. */
  reason: string;
}

/** Istio's rule: pod or namespace labelled ambient, not opted out, not a sidecar pod. */
export function decideEnrollment(input: EnrollmentInput): Enrollment {
  if (input.excludeNamespaces.includes(input.namespace))
    return { enrolled: false, reason: `namespace ${input.namespace} is excluded` };
  const podMode = input.podLabels[DATAPLANE_MODE_LABEL];
  if (podMode === 'none') return { enrolled: false, reason: `pod labelled ${DATAPLANE_MODE_LABEL}=none` };
  if (input.podAnnotations?.['sidecar.istio.io/status'] !== undefined)
    return { enrolled: false, reason: 'pod has an Istio sidecar' };
  if (podMode === 'ambient')
    return { enrolled: true, reason: `pod labelled ${DATAPLANE_MODE_LABEL}=ambient` };
  if (input.namespaceLabels[DATAPLANE_MODE_LABEL] === 'ambient')
    return { enrolled: true, reason: `namespace labelled ${DATAPLANE_MODE_LABEL}=ambient` };
  return { enrolled: false, reason: 'neither pod nor namespace is labelled ambient' };
}

function selects(pa: PeerAuthenticationObject, podLabels: Readonly<Record<string, string>>): boolean {
  const match = pa.spec?.selector?.matchLabels ?? {};
  return Object.entries(match).every(([k, v]) => podLabels[k] === v);
}

function hasSelector(pa: PeerAuthenticationObject): boolean {
  return Object.keys(pa.spec?.selector?.matchLabels ?? {}).length > 0;
}

function modeOf(pa: PeerAuthenticationObject): MtlsMode | undefined {
  const mode = pa.spec?.mtls?.mode;
  return mode === 'STRICT' || mode === 'PERMISSIVE' || mode === 'DISABLE' ? mode : undefined;
}

/** Oldest first, then by name: Istio's tie-break. */
function oldestFirst(a: PeerAuthenticationObject, b: PeerAuthenticationObject): number {
  const ta = a.metadata?.creationTimestamp ?? '';
  const tb = b.metadata?.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1;
}

/**
 * The pod's effective PeerAuthentication mode: workload (selector) > namespace > root namespace, UNSET
 * inherits the next level, PERMISSIVE when nothing says otherwise. Port-level modes are not considered:
 * fail-closed is decided per pod.
 */
export function effectiveMtlsMode(
  peerAuthentications: readonly PeerAuthenticationObject[],
  namespace: string,
  rootNamespace: string,
  podLabels: Readonly<Record<string, string>>,
): MtlsMode {
  const sorted = [...peerAuthentications].sort(oldestFirst);
  const inNs = (ns: string) => sorted.filter((pa) => pa.metadata?.namespace === ns);
  const levels = [
    inNs(namespace).filter((pa) => hasSelector(pa) && selects(pa, podLabels)),
    inNs(namespace).filter((pa) => !hasSelector(pa)),
    namespace === rootNamespace ? [] : inNs(rootNamespace).filter((pa) => !hasSelector(pa)),
  ];
  for (const level of levels) {
    for (const pa of level) {
      const mode = modeOf(pa);
      if (mode !== undefined) return mode;
      // UNSET at this level: inherit from the next one.
      break;
    }
  }
  return 'PERMISSIVE';
}

/** Fail closed (return a CNI error so kubelet retries) or open (log and let the pod start uncaptured). */
export function failsClosed(policy: 'auto' | 'closed' | 'open', mode: MtlsMode | undefined): boolean {
  if (policy === 'closed') return true;
  if (policy === 'open') return false;
  // Unknown mode (lookup failed) is treated like STRICT: we cannot prove plaintext is acceptable.
  return mode === undefined || mode === 'STRICT';
}
