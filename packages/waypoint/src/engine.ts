/**
 * The L7 engine: takes a downstream byte stream (an HBONE CONNECT stream, or any Duplex in tests),
 * finds the protocol from the service port's declaration or by sniffing the first bytes, and hands it
 * to the HTTP/1.1, HTTP/2 or TCP path.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from '@weft/telemetry';
import type { HttpEngineDeps } from './http-deps.js';
import { Http1Engine } from './http1.js';
import { Http2Engine } from './http2.js';
import { declaredProtocol, SNIFF_LIMIT, type SniffResult, sniff, sniffDeclaredHttp } from './sniff.js';
import { TcpProxy, type TcpProxyDeps } from './tcp-proxy.js';
import type { ConnInfo } from './telemetry.js';

export interface EngineOptions extends HttpEngineDeps {
  /** How long to wait for a client's first bytes on an undeclared port before treating it as TCP. */
  readonly sniffTimeoutMs?: number;
  readonly onTcpClosed?: TcpProxyDeps['onClosed'];
}

export class L7Engine {
  readonly #h1: Http1Engine;
  readonly #h2: Http2Engine;
  readonly #tcp: TcpProxy;
  readonly #log: Logger;
  readonly #sniffTimeoutMs: number;

  constructor(options: EngineOptions) {
    this.#h1 = new Http1Engine(options);
    this.#h2 = new Http2Engine(options);
    this.#tcp = new TcpProxy({
      policies: options.policies,
      endpoints: options.endpoints,
      connector: options.connector,
      logger: options.logger,
      maxAttempts: options.limits.maxAttempts,
      ...(options.onTcpClosed === undefined ? {} : { onClosed: options.onTcpClosed }),
    });
    this.#log = options.logger;
    this.#sniffTimeoutMs = options.sniffTimeoutMs ?? 1_000;
  }

  /** True when the destination port is declared TCP/TLS: the HBONE handler can skip sniffing. */
  isDeclaredTcp(conn: ConnInfo): boolean {
    return declaredProtocol(conn.dest.appProtocol) === 'tcp';
  }

  get tcp(): TcpProxy {
    return this.#tcp;
  }

  /** Serve one downstream stream. */
  handle(stream: Duplex, conn: ConnInfo): void {
    const declared = declaredProtocol(conn.dest.appProtocol);
    if (declared === 'tcp') {
      this.#tcp.handle(stream, conn, undefined);
      return;
    }
    const classify: (b: Buffer) => SniffResult = declared === 'http' ? sniffDeclaredHttp : sniff;
    let buffered: Buffer | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = (result: 'http1' | 'http2' | 'tcp'): void => {
      if (timer !== undefined) clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onClose);
      stream.pause();
      const head = buffered;
      if (result === 'tcp') {
        this.#tcp.handle(stream, conn, head);
        return;
      }
      if (head !== undefined) stream.unshift(head);
      if (result === 'http1') {
        this.#h1.handle(stream, conn);
        // We paused it while sniffing; the HTTP server's listeners are attached now.
        stream.resume();
      } else this.#h2.handle(stream, conn);
    };
    const onData = (chunk: Buffer): void => {
      buffered = buffered === undefined ? chunk : Buffer.concat([buffered, chunk]);
      const r = classify(buffered);
      if (r !== 'need-more') finish(r);
      else if (buffered.length > SNIFF_LIMIT) finish('tcp');
    };
    const onEnd = (): void => finish(buffered === undefined ? 'tcp' : declared === 'http' ? 'http1' : 'tcp');
    const onClose = (): void => {
      if (timer !== undefined) clearTimeout(timer);
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onClose);
    if (declared === undefined) {
      timer = setTimeout(() => {
        this.#log.debug({ dst: conn.dest.ip, port: conn.dest.port }, 'no client bytes: treating as TCP');
        finish('tcp');
      }, this.#sniffTimeoutMs);
    }
  }

  close(): void {
    this.#h1.close();
  }
}
