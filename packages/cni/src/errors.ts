import { WeftError } from '@weft/telemetry/errors';

/** weft-cni's error codes (docs/errors.md, ## cni) and the CNI spec error code each maps to. */
export const CniErrorCode = {
  BadConfig: 'WEFT_CNI_BAD_CONFIG',
  NotChained: 'WEFT_CNI_NOT_CHAINED',
  BadEnv: 'WEFT_CNI_BAD_ENV',
  IncompatibleVersion: 'WEFT_CNI_INCOMPATIBLE_VERSION',
  LookupFailed: 'WEFT_CNI_LOOKUP_FAILED',
  AgentUnreachable: 'WEFT_CNI_AGENT_UNREACHABLE',
  AgentRejected: 'WEFT_CNI_AGENT_REJECTED',
  NoConflist: 'WEFT_CNI_NO_CONFLIST',
  Install: 'WEFT_CNI_INSTALL',
} as const;
export type CniErrorCode = (typeof CniErrorCode)[keyof typeof CniErrorCode];

/** CNI spec 1.0 error codes (the `code` of the JSON error object a plugin prints). */
export const CNI_SPEC_CODE: Record<CniErrorCode, number> = {
  WEFT_CNI_INCOMPATIBLE_VERSION: 1,
  WEFT_CNI_BAD_ENV: 4,
  WEFT_CNI_BAD_CONFIG: 7,
  WEFT_CNI_NOT_CHAINED: 7,
  // 11 = "try again later": kubelet retries the sandbox, which is what fail-closed wants.
  WEFT_CNI_LOOKUP_FAILED: 11,
  WEFT_CNI_AGENT_UNREACHABLE: 11,
  WEFT_CNI_AGENT_REJECTED: 11,
  WEFT_CNI_NO_CONFLIST: 5,
  WEFT_CNI_INSTALL: 5,
};

export class CniError extends WeftError {
  override readonly code: CniErrorCode;
  constructor(
    code: CniErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(code, message, options);
    this.code = code;
  }
}
