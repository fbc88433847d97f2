import { connect, type Socket } from 'node:net';
import { errorCode, errorMessage } from '@weft/telemetry/errors';
import { HboneError, HboneErrorCode } from './errors.js';
import { tuneSocket } from './pump.js';
import type { ConnectHandler } from './server-types.js';

export interface UpstreamOptions {
  host: string;
  port: number;
  /** Bind the source address (e.g. the original client IP with IP_TRANSPARENT set by the caller). */
  localAddress?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Connect a TCP socket for a tunnel's far side; resolves once connected (so 200 can follow), rejects
 * with a 503-carrying HboneError on refusal or timeout.
 */
export function connectUpstream(options: UpstreamOptions): Promise<Socket> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({
      host: options.host,
      port: options.port,
      noDelay: true,
      keepAlive: true,
      allowHalfOpen: true,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    });
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const onConnect = (): void => {
      cleanup();
      tuneSocket(socket);
      resolve(socket);
    };
    const onError = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(
        new HboneError(
          HboneErrorCode.UpstreamRefused,
          `upstream ${options.host}:${options.port} failed: ${errorCode(err)} ${errorMessage(err)}`,
          { status: 503, cause: err },
        ),
      );
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      reject(
        new HboneError(HboneErrorCode.Aborted, 'tunnel aborted while connecting upstream', { status: 503 }),
      );
    };
    const timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      reject(
        new HboneError(
          HboneErrorCode.UpstreamTimeout,
          `upstream ${options.host}:${options.port} did not accept within ${timeoutMs} ms`,
          { status: 503 },
        ),
      );
    }, timeoutMs);
    socket.once('connect', onConnect);
    socket.once('error', onError);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The simplest handler: connect to the CONNECT's own authority. For tests, benchmarks and gateways;
 * the node agent adds authorization and in-namespace sockets around `connectUpstream` itself.
 */
export function directHandler(options: { timeoutMs?: number } = {}): ConnectHandler {
  return async (request) => ({
    upstream: await connectUpstream({
      host: request.host,
      port: request.port,
      signal: request.signal,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    }),
  });
}
