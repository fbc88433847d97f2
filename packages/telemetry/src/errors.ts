/**
 * Errors are values with stable codes. Every code is listed in docs/errors.md with what to do about it;
 * a test keeps that list and the source in sync.
 */
export class WeftError extends Error {
  readonly code: string;
  /** Extra structured context for logs and API responses; never secrets or key material. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: string,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options?.details;
  }

  toJSON(): { code: string; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** True when `err` is a WeftError, optionally with the given code. */
export function isWeftError(err: unknown, code?: string): err is WeftError {
  return err instanceof WeftError && (code === undefined || err.code === code);
}

/** The code of any error: a WeftError's own, Node's `code` (ECONNREFUSED…), or 'UNKNOWN'. */
export function errorCode(err: unknown): string {
  if (err instanceof WeftError) return err.code;
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string')
    return err.code;
  return 'UNKNOWN';
}

/** A message safe to show: never throws, whatever was thrown. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
