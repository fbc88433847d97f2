/**
 * @weft/policy — Istio AuthorizationPolicy, PeerAuthentication and RequestAuthentication:
 * validation, compilation, evaluation (L7 for waypoints/gateways, L4 for the node agent) and the
 * JWT outcome model. Pure: no I/O, no timers, no environment.
 */
export type { AuthAttributes, HttpAttributes, ParsedIdentity, RequestAttributes } from './attributes.js';
export { parseIdentity } from './attributes.js';
export type { CompiledAuthorizationPolicy } from './compile.js';
export { compileAuthorizationPolicy } from './compile.js';
export type { Decision, DecisionKind, PolicyBundle, PolicyMatch } from './evaluate.js';
export { bundlePolicies, evaluate } from './evaluate.js';
export type {
  CompiledL4Authorization,
  L4Connection,
  L4Decision,
  L4DecisionKind,
  L4PolicyMatch,
} from './evaluate-l4.js';
export { compileL4, evaluateCompiledL4, evaluateL4, traceL4 } from './evaluate-l4.js';
export type { Explanation, PolicyTrace } from './explain.js';
export { explain, formatExplanation } from './explain.js';
export { parseCidr, parseIp } from './ip.js';
export type {
  ExtractedToken,
  JwtOutcome,
  JwtOutcomeOptions,
  JwtProvider,
  JwtRequestParts,
  TokenLocation,
  VerifiedToken,
} from './jwt.js';
export {
  compileJwtRules,
  DEFAULT_JWT_HEADER,
  DEFAULT_JWT_PARAM,
  extractJwtTokens,
  isCorsPreflight,
  JWT_CLOCK_SKEW_SECONDS,
  JwtMessage,
  jwtOutcome,
} from './jwt.js';
export type {
  L4Action,
  L4Address,
  L4Authorization,
  L4Clause,
  L4Match,
  L4Rule,
  L4Scope,
  L4ServiceAccountMatch,
  L4StringMatch,
} from './l4-model.js';
export { emptyMatch, l4Key } from './l4-model.js';
export type { L4WorkloadRef } from './l4-store.js';
export { L4PolicyStore } from './l4-store.js';
export type {
  EffectiveMtlsMode,
  EffectivePeerAuthentication,
  PeerAuthenticationLevels,
} from './peer-authn.js';
export {
  CONVERTED_PEER_AUTHN_PREFIX,
  convertPeerAuthentication,
  effectivePeerAuthentication,
  peerAuthenticationLevels,
  peerAuthenticationPolicyKeys,
  STATIC_STRICT_POLICY_NAME,
  staticStrictPolicy,
} from './peer-authn.js';
export type { PolicySetInput, SecurityKind } from './policy-set.js';
export { compilePolicies, PolicySet } from './policy-set.js';
export type { Problem } from './problems.js';
export { formatProblem, PolicyErrorCode } from './problems.js';
export type { L4Projection } from './project-l4.js';
export { projectL4 } from './project-l4.js';
export { selectorMatches } from './selector.js';
export type { TrustDomainOptions } from './trust-domain.js';
export { expandPrincipals } from './trust-domain.js';
export type {
  AuthorizationAction,
  AuthorizationPolicy,
  AuthzCondition,
  AuthzOperation,
  AuthzRule,
  AuthzSource,
  ClaimToHeader,
  JwtHeaderLocation,
  JwtRule,
  MtlsMode,
  PeerAuthentication,
  PolicyTargetRef,
  RequestAuthentication,
  ResourceRef,
  SecurityResource,
  TargetsRef,
  ValidateOptions,
  ValidationResult,
  WorkloadRef,
  WorkloadSelector,
} from './types.js';
export { DRY_RUN_ANNOTATION, validateAuthorizationPolicy } from './validate-authz.js';
export { validatePeerAuthentication } from './validate-peer-authn.js';
export { validateRequestAuthentication } from './validate-request-authn.js';
export { L4_WHEN_KEYS } from './when-keys.js';
