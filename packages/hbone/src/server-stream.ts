import { constants as h2, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import { errorMessage } from '@weft/telemetry/errors';
import { parseAuthority } from './connect-request.js';
import { HboneError, HboneErrorCode } from './errors.js';
import { pump } from './pump.js';
import type { HboneServerImpl, ServerConnection } from './server.js';
import type { ConnectDecision, ConnectRequest } from './server-types.js';
import { REASON_HEADER } from './settings.js';

function ignoreError(): void {}

function refuse(stream: ServerHttp2Stream, status: number, reason: string): void {
  if (stream.destroyed || stream.headersSent) return;
  try {
    stream.respond({ ':status': status, [REASON_HEADER]: reason }, { endStream: true });
  } catch {
    // The stream closed while we were deciding.
  }
}

/** Counts streams the peer reset before we answered; too many in a second is a rapid-reset attack. */
function noteEarlyReset(server: HboneServerImpl, conn: ServerConnection): void {
  const now = performance.now();
  if (now - conn.earlyResetWindowStart > 1000) {
    conn.earlyResetWindowStart = now;
    conn.earlyResets = 0;
  }
  if (++conn.earlyResets > server.maxEarlyResets) {
    server.fail(
      conn,
      new HboneError(
        HboneErrorCode.Protocol,
        `peer reset more than ${server.maxEarlyResets} streams per second before they were answered (rapid reset)`,
      ),
    );
  }
}

/** Validate one CONNECT stream, ask the handler, then answer and pump. */
export function handleConnectStream(
  server: HboneServerImpl,
  conn: ServerConnection,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
): void {
  // Resets are normal tunnel endings; the pump or the close handler below reports them.
  stream.on('error', ignoreError);
  if (server.draining) {
    stream.close(h2.NGHTTP2_REFUSED_STREAM);
    return;
  }
  if (
    headers[':method'] !== 'CONNECT' ||
    headers[':path'] !== undefined ||
    headers[':scheme'] !== undefined
  ) {
    refuse(stream, 400, `${HboneErrorCode.NotConnect}: HBONE accepts only CONNECT (no :path or :scheme)`);
    return;
  }
  const authority = headers[':authority'];
  let host: string;
  let port: number;
  try {
    ({ host, port } = parseAuthority(authority, server.options.allowHostnameAuthority === true));
  } catch (err) {
    refuse(stream, 400, `${HboneErrorCode.BadAuthority}: ${errorMessage(err)}`);
    return;
  }
  if (server.options.requireAuthorityIsLocal === true && host !== conn.addresses.localAddress) {
    refuse(
      stream,
      400,
      `${HboneErrorCode.BadAuthority}: ${host} is not this connection's destination ${conn.addresses.localAddress}`,
    );
    return;
  }
  if (server.illegalPorts.has(port)) {
    refuse(stream, 503, `${HboneErrorCode.IllegalPort}: port ${port} is the proxy's own (loop guard)`);
    return;
  }
  const abort = new AbortController();
  let decided = false;
  const onEarlyClose = (): void => {
    if (!decided) {
      abort.abort(
        new HboneError(HboneErrorCode.StreamReset, 'the client reset the stream before it was answered'),
      );
      // Resets caused by the session going away are not the peer's doing.
      if (stream.rstCode !== h2.NGHTTP2_NO_ERROR && conn.session?.destroyed === false && !conn.session.closed)
        noteEarlyReset(server, conn);
    }
  };
  stream.once('close', onEarlyClose);
  const request: ConnectRequest = {
    peerIdentity: conn.peerIdentity,
    peerIdentities: conn.peerIdentities,
    authority: authority ?? '',
    host,
    port,
    headers,
    connection: conn.addresses,
    signal: abort.signal,
  };
  // Ask the handler on the next turn: a RST_STREAM in the same read (rapid reset) then cancels the
  // stream before any upstream connect starts.
  setImmediate(decide, server, stream, request, () => {
    decided = true;
    // Once decided, nothing of this request scope (headers, abort controller) stays with the tunnel.
    stream.off('close', onEarlyClose);
  });
}

function decide(
  server: HboneServerImpl,
  stream: ServerHttp2Stream,
  request: ConnectRequest,
  markDecided: () => void,
): void {
  if (stream.destroyed || stream.closed) return;
  let result: ConnectDecision | Promise<ConnectDecision>;
  try {
    result = server.options.handler(request);
  } catch (err) {
    result = Promise.reject(err);
  }
  if (result instanceof Promise) {
    result.then(
      (decision) => {
        markDecided();
        apply(server, stream, request, decision);
      },
      (err: unknown) => {
        markDecided();
        server.log.warn({ err: errorMessage(err), authority: request.authority }, 'HBONE handler failed');
        const status = err instanceof HboneError && err.status !== undefined ? err.status : 503;
        refuse(
          stream,
          status,
          `${err instanceof HboneError ? err.code : HboneErrorCode.HandlerFailed}: ${errorMessage(err)}`,
        );
      },
    );
  } else {
    markDecided();
    apply(server, stream, request, result);
  }
}

function apply(
  server: HboneServerImpl,
  stream: ServerHttp2Stream,
  request: ConnectRequest,
  decision: ConnectDecision,
): void {
  if (!('upstream' in decision)) {
    refuse(stream, decision.status, decision.reason);
    return;
  }
  const upstream: Duplex = decision.upstream;
  if (stream.destroyed || stream.closed) {
    upstream.destroy();
    return;
  }
  try {
    stream.respond(
      decision.headers === undefined ? { ':status': 200 } : { ...decision.headers, ':status': 200 },
    );
  } catch {
    upstream.destroy();
    return;
  }
  // Only these three outlive the answer (not the request's headers): the tunnel's report needs them.
  const { peerIdentity, authority, connection } = request;
  const onClose = decision.onClose;
  pump(stream, upstream).then((result) => {
    const report = { ...result, peerIdentity, authority, connection };
    onClose?.(report);
    server.reportTunnel(report);
  });
}
