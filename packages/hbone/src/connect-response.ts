import { type ClientHttp2Stream, constants as h2, type IncomingHttpHeaders } from 'node:http2';
import type { NextHop } from './client-connection.js';
import { HboneError, HboneErrorCode } from './errors.js';
import { REASON_HEADER } from './settings.js';

function ignoreError(): void {}

/**
 * Waits for the answer to a CONNECT: resolves on 200; a non-200, a reset, the caller's abort or no answer
 * within `timeoutMs` cancel the stream and reject with an HboneError (non-200 carries `status`).
 */
export function awaitConnectResponse(
  stream: ClientHttp2Stream,
  request: { authority: string; nextHop: NextHop; signal?: AbortSignal },
  timeoutMs: number,
): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      stream.off('response', onResponse);
      stream.off('close', onClose);
      stream.off('error', onError);
      request.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: HboneError): void => {
      done();
      if (!stream.destroyed) stream.close(h2.NGHTTP2_CANCEL);
      reject(err);
    };
    const onResponse = (headers: IncomingHttpHeaders): void => {
      const status = Number(headers[':status']);
      if (status === 200) {
        done();
        resolve({ status, headers });
        return;
      }
      const reason = headers[REASON_HEADER];
      fail(
        new HboneError(
          HboneErrorCode.Rejected,
          `HBONE CONNECT to ${request.authority} via ${request.nextHop.host}:${request.nextHop.port} refused with ${status}${reason === undefined ? '' : `: ${String(reason)}`}`,
          { status, details: { status, reason } },
        ),
      );
    };
    const onClose = (): void =>
      fail(
        new HboneError(
          HboneErrorCode.StreamReset,
          `HBONE CONNECT to ${request.authority} was reset before a response (HTTP/2 code ${stream.rstCode})`,
        ),
      );
    const onError = (err: Error): void =>
      fail(
        new HboneError(
          HboneErrorCode.StreamReset,
          `HBONE CONNECT to ${request.authority} failed: ${err.message}`,
          {
            cause: err,
          },
        ),
      );
    const onAbort = (): void => fail(new HboneError(HboneErrorCode.Aborted, 'tunnel open aborted'));
    const timer = setTimeout(
      () =>
        fail(
          new HboneError(
            HboneErrorCode.StreamReset,
            `no CONNECT response from ${request.nextHop.host}:${request.nextHop.port} in ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
    stream.once('response', onResponse);
    stream.once('close', onClose);
    stream.once('error', onError);
    // After the response, resets are seen by whoever pumps the stream. (A module-level function: an inline
    // one would keep this whole closure scope alive for the tunnel's life.)
    stream.on('error', ignoreError);
    request.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
