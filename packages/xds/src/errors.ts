import { WeftError } from '@weft/telemetry';

/** A resource the client cannot decode or accept: the whole response is NACKed and nothing applied. */
export class XdsDecodeError extends WeftError {
  constructor(message: string, cause?: unknown) {
    super('WEFT_XDS_BAD_RESOURCE', message, cause === undefined ? undefined : { cause });
  }
}

/** The server refused the stream (authentication) or the client's request was malformed. */
export class XdsProtocolError extends WeftError {
  constructor(code: 'WEFT_XDS_UNAUTHENTICATED' | 'WEFT_XDS_BAD_REQUEST', message: string) {
    super(code, message);
  }
}
