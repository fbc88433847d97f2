/**
 * Validation problems: values, not exceptions. Every problem names the resource (`Kind ns/name`)
 * and the field path (`spec.rules[0].from[1].source.principals[2]`), like `istioctl analyze`.
 */
export const PolicyErrorCode = {
  /** A field the API does not define (typo, wrong nesting, unsupported version). */
  UnknownField: 'WEFT_POLICY_UNKNOWN_FIELD',
  /** A field has the wrong JSON type (string where a list is expected, …). */
  BadType: 'WEFT_POLICY_BAD_TYPE',
  /** A required field is missing or empty. */
  MissingField: 'WEFT_POLICY_MISSING_FIELD',
  /** apiVersion/kind are not a supported security.istio.io resource. */
  BadKind: 'WEFT_POLICY_BAD_KIND',
  /** An enum or free value is not allowed (action, mode, empty string, wildcard in the middle…). */
  BadValue: 'WEFT_POLICY_BAD_VALUE',
  BadPrincipal: 'WEFT_POLICY_BAD_PRINCIPAL',
  BadCidr: 'WEFT_POLICY_BAD_CIDR',
  BadPort: 'WEFT_POLICY_BAD_PORT',
  BadMethod: 'WEFT_POLICY_BAD_METHOD',
  BadPath: 'WEFT_POLICY_BAD_PATH',
  BadWhenKey: 'WEFT_POLICY_BAD_WHEN_KEY',
  BadTargetRef: 'WEFT_POLICY_BAD_TARGET_REF',
  /** Two fields that exclude each other (selector with targetRef, provider without CUSTOM…). */
  Conflict: 'WEFT_POLICY_CONFLICT',
  /** action CUSTOM: no external authorizer here; matching requests are denied for safety. */
  CustomUnsupported: 'WEFT_POLICY_CUSTOM_UNSUPPORTED',
  BadJwtRule: 'WEFT_POLICY_BAD_JWT_RULE',
} as const;
export type PolicyErrorCode = (typeof PolicyErrorCode)[keyof typeof PolicyErrorCode];

export interface Problem {
  readonly code: PolicyErrorCode;
  /** `error` makes the resource invalid (it is skipped); `warning` is reported and the resource is used. */
  readonly severity: 'error' | 'warning';
  /** `AuthorizationPolicy prod/allow-orders`. */
  readonly resource: string;
  /** `spec.rules[0].from[1].source.principals[2]`. */
  readonly path: string;
  readonly message: string;
}

/** One line per problem, istioctl-analyze style. */
export function formatProblem(p: Problem): string {
  return `${p.severity === 'error' ? 'Error' : 'Warning'} [${p.code}] (${p.resource}) ${p.path}: ${p.message}`;
}

/** Collects the problems of one resource while walking it. */
export class ProblemList {
  readonly items: Problem[] = [];
  constructor(public resource: string) {}

  error(code: PolicyErrorCode, path: string, message: string): void {
    this.items.push({ code, severity: 'error', resource: this.resource, path, message });
  }

  warn(code: PolicyErrorCode, path: string, message: string): void {
    this.items.push({ code, severity: 'warning', resource: this.resource, path, message });
  }

  get hasErrors(): boolean {
    return this.items.some((p) => p.severity === 'error');
  }
}
