/**
 * Normalized security.istio.io resources (v1 and v1beta1 share one shape). Lists are always present
 * (empty = unset) so matchers never test for undefined.
 */
import type { Problem } from './problems.js';

export type AuthorizationAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';
export type MtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

export interface ResourceRef {
  readonly namespace: string;
  readonly name: string;
}

export interface WorkloadSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
}

/** spec.targetRef / spec.targetRefs: policies bound to a Gateway (waypoint/gateway) or a Service. */
export interface PolicyTargetRef {
  readonly group: string;
  readonly kind: 'Gateway' | 'Service' | 'ServiceEntry' | 'GatewayClass';
  readonly name: string;
  /** Always the policy's own namespace (Istio rejects cross-namespace references). */
  readonly namespace: string;
}

export interface AuthzSource {
  readonly principals: readonly string[];
  readonly notPrincipals: readonly string[];
  readonly requestPrincipals: readonly string[];
  readonly notRequestPrincipals: readonly string[];
  readonly namespaces: readonly string[];
  readonly notNamespaces: readonly string[];
  readonly ipBlocks: readonly string[];
  readonly notIpBlocks: readonly string[];
  readonly remoteIpBlocks: readonly string[];
  readonly notRemoteIpBlocks: readonly string[];
  /** `ns/sa` or `sa` (the policy's namespace). */
  readonly serviceAccounts: readonly string[];
  readonly notServiceAccounts: readonly string[];
}

export interface AuthzOperation {
  readonly hosts: readonly string[];
  readonly notHosts: readonly string[];
  readonly ports: readonly string[];
  readonly notPorts: readonly string[];
  readonly methods: readonly string[];
  readonly notMethods: readonly string[];
  readonly paths: readonly string[];
  readonly notPaths: readonly string[];
}

export interface AuthzCondition {
  readonly key: string;
  readonly values: readonly string[];
  readonly notValues: readonly string[];
}

export interface AuthzRule {
  readonly from: readonly AuthzSource[];
  readonly to: readonly AuthzOperation[];
  readonly when: readonly AuthzCondition[];
}

interface ResourceBase extends ResourceRef {
  readonly apiVersion: string;
  /** RFC 3339 creationTimestamp; used for "oldest wins" ties. */
  readonly creationTimestamp?: string;
}

export interface AuthorizationPolicy extends ResourceBase {
  readonly kind: 'AuthorizationPolicy';
  /** `istio.io/dry-run: "true"`: evaluated and reported, never enforced. */
  readonly dryRun: boolean;
  readonly selector?: WorkloadSelector;
  readonly targetRefs: readonly PolicyTargetRef[];
  readonly action: AuthorizationAction;
  /** spec.provider.name, CUSTOM only. */
  readonly provider?: string;
  readonly rules: readonly AuthzRule[];
}

export interface PeerAuthentication extends ResourceBase {
  readonly kind: 'PeerAuthentication';
  readonly selector?: WorkloadSelector;
  readonly mode: MtlsMode;
  /** port → mode; only meaningful with a selector. */
  readonly portLevelMtls: ReadonlyMap<number, MtlsMode>;
}

export interface JwtHeaderLocation {
  /** Lower-cased header name. */
  readonly name: string;
  /** e.g. `Bearer `; empty when the whole value is the token. */
  readonly prefix: string;
}

export interface ClaimToHeader {
  readonly header: string;
  readonly claim: string;
}

export interface JwtRule {
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly jwksUri?: string;
  readonly jwks?: string;
  readonly fromHeaders: readonly JwtHeaderLocation[];
  readonly fromParams: readonly string[];
  readonly fromCookies: readonly string[];
  readonly forwardOriginalToken: boolean;
  readonly outputPayloadToHeader?: string;
  readonly outputClaimToHeaders: readonly ClaimToHeader[];
  /** JWKS fetch timeout in milliseconds, when set. */
  readonly timeoutMs?: number;
}

export interface RequestAuthentication extends ResourceBase {
  readonly kind: 'RequestAuthentication';
  readonly selector?: WorkloadSelector;
  readonly targetRefs: readonly PolicyTargetRef[];
  readonly jwtRules: readonly JwtRule[];
}

export type SecurityResource = AuthorizationPolicy | PeerAuthentication | RequestAuthentication;

/** What every validate* function returns: the normalized value when there is no error, and all problems. */
export interface ValidationResult<T> {
  readonly ok: boolean;
  readonly value?: T;
  readonly problems: readonly Problem[];
}

export interface ValidateOptions {
  /** Namespace for objects without metadata.namespace (default `default`). */
  readonly defaultNamespace?: string;
}

/** A workload as the policy scope sees it. */
export interface WorkloadRef {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** What a waypoint or gateway serves: targetRef policies bind to these. */
export interface TargetsRef {
  readonly gateway?: ResourceRef;
  /** The Gateway's class (`istio-waypoint`): matches GatewayClass targetRefs in the root namespace. */
  readonly gatewayClass?: string;
  readonly services?: readonly ResourceRef[];
}

export function resourceKey(r: ResourceRef): string {
  return `${r.namespace}/${r.name}`;
}
