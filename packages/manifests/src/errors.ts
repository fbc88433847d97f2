import { WeftError } from '@weft/telemetry/errors';

export const ManifestsErrorCode = {
  UnknownValue: 'WEFT_MANIFESTS_UNKNOWN_VALUE',
  BadValue: 'WEFT_MANIFESTS_BAD_VALUE',
  NotWaypoint: 'WEFT_MANIFESTS_NOT_WAYPOINT',
} as const;
export type ManifestsErrorCode = (typeof ManifestsErrorCode)[keyof typeof ManifestsErrorCode];

export class ManifestsError extends WeftError {
  override readonly code: ManifestsErrorCode;
  constructor(code: ManifestsErrorCode, message: string) {
    super(code, message);
    this.code = code;
  }
}
