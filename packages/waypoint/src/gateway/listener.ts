/**
 * One gateway port: reads the ClientHello without consuming it, picks the Gateway server by SNI, then
 * either terminates TLS with that server's settings (SIMPLE / MUTUAL / OPTIONAL_MUTUAL; one tls.Server
 * per Gateway server, fed the socket, its SecureContext swapped when the credential changes) or hands
 * the raw bytes on (PASSTHROUGH). Plaintext ports go straight to the engine.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import type { Logger } from '@weft/telemetry';
import { errorMessage } from '@weft/telemetry/errors';
import { parseClientHello } from './client-hello.js';
import type { CredentialSource } from './credentials.js';
import { GatewayError, GatewayErrorCode } from './errors.js';
import { certificatePrincipal, sanAllowed } from './principal.js';
import { type GatewayServer, serverForSni } from './servers.js';

export interface DownstreamInfo {
  /** The Gateway port (as configured, not the bound one). */
  readonly port: number;
  /** Client-certificate principal ('' without one). */
  readonly principal: string;
  readonly sourceIp: string;
  readonly localIp: string;
  readonly sni: string | undefined;
  readonly server: GatewayServer;
}

export type RefusalReason =
  | 'handshake'
  | 'client_certificate'
  | 'timeout'
  | 'not_tls'
  | 'no_server'
  | 'no_credential';

export interface ListenerDeps {
  readonly credentials: CredentialSource;
  /** ALPN offered on terminated TLS (default http/1.1 only: the engine forwards HTTP/2 as HTTP/2). */
  readonly alpn: readonly string[];
  readonly logger: Logger;
  readonly handshakeTimeoutMs: number;
  /** A decrypted (or plaintext) HTTP connection. */
  onHttp(stream: Duplex, info: DownstreamInfo): void;
  /** PASSTHROUGH: raw TLS bytes (`head` already read) to route by SNI. */
  onPassthrough(socket: Socket, head: Buffer, info: DownstreamInfo): void;
  /** A refused connection (metrics, debug log): `reason` is one of a few fixed words. */
  onRefused(port: number, reason: RefusalReason, detail?: string): void;
}

function serverKey(s: GatewayServer): string {
  return JSON.stringify([s.gateway, s.hosts, s.tls]);
}

/** TLS termination for one Gateway server. */
class Terminator {
  readonly spec: GatewayServer;
  readonly #d: ListenerDeps;
  #server: TlsServer | undefined;
  #version: string | undefined;
  #warned: string | undefined;

  /** Namespace of the Gateway object (where its Secrets may live too). */
  readonly #namespace: string;

  constructor(spec: GatewayServer, deps: ListenerDeps) {
    this.spec = spec;
    this.#d = deps;
    this.#namespace = spec.gateway.slice(0, spec.gateway.indexOf('/'));
  }

  #warn(message: string): void {
    if (this.#warned === message) return;
    this.#warned = message;
    this.#d.logger.warn(
      { code: GatewayErrorCode.NoCredential, gateway: this.spec.gateway, port: this.spec.port },
      message,
    );
  }

  /** The tls.Server with the current credential, or undefined when it is missing. */
  current(): TlsServer | undefined {
    const tls = this.spec.tls;
    if (tls === undefined || tls.credentialName === undefined) return undefined;
    const cred = this.#d.credentials.get(tls.credentialName, this.#namespace);
    if (cred === undefined) {
      this.#d.credentials.want([tls.credentialName]);
      this.#warn(`credential ${tls.credentialName} not found: connections to this server are refused`);
      return undefined;
    }
    const mutual = tls.mode === 'MUTUAL' || tls.mode === 'OPTIONAL_MUTUAL';
    if (mutual && cred.caPem === undefined) {
      this.#warn(
        `credential ${tls.credentialName} has no ca.crt (nor a ${tls.credentialName}-cacert): ${tls.mode} cannot verify clients; connections are refused`,
      );
      return undefined;
    }
    this.#warned = undefined;
    if (this.#server !== undefined && this.#version === cred.version) return this.#server;
    const options = {
      cert: cred.certPem,
      key: cred.keyPem,
      ...(mutual ? { ca: cred.caPem } : {}),
      minVersion: tls.minVersion ?? 'TLSv1.2',
      ...(tls.maxVersion === undefined ? {} : { maxVersion: tls.maxVersion }),
      ...(tls.cipherSuites.length === 0 ? {} : { ciphers: tls.cipherSuites.join(':') }),
    };
    try {
      if (this.#server === undefined) this.#server = this.#create(options, mutual, tls.mode === 'MUTUAL');
      else this.#server.setSecureContext(options);
    } catch (err) {
      this.#warn(`credential ${tls.credentialName} unusable: ${errorMessage(err)}`);
      return this.#server;
    }
    this.#version = cred.version;
    return this.#server;
  }

  #create(options: object, mutual: boolean, required: boolean): TlsServer {
    const server = createTlsServer({
      ...options,
      requestCert: mutual,
      rejectUnauthorized: required,
      ALPNProtocols: [...this.#d.alpn],
      handshakeTimeout: this.#d.handshakeTimeoutMs,
    });
    const spec = this.spec;
    const tls = spec.tls;
    server.on('tlsClientError', (err: Error & { code?: string }) => {
      this.#d.onRefused(spec.port, 'handshake', err.code);
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      socket.on('error', () => {});
      const cert = mutual ? socket.getPeerCertificate() : undefined;
      const presented = cert !== undefined && Object.keys(cert).length > 0;
      if (presented && (!socket.authorized || !sanAllowed(cert, tls?.subjectAltNames ?? []))) {
        const reason = socket.authorized
          ? 'client certificate SAN not allowed'
          : String(socket.authorizationError);
        this.#d.logger.debug(
          { code: GatewayErrorCode.ClientCertificate, port: spec.port, reason },
          'client certificate refused',
        );
        this.#d.onRefused(spec.port, 'client_certificate', reason);
        socket.destroy();
        return;
      }
      this.#d.onHttp(socket, {
        port: spec.port,
        principal: presented ? certificatePrincipal(cert) : '',
        sourceIp: socket.remoteAddress ?? '',
        localIp: socket.localAddress ?? '',
        sni: typeof socket.servername === 'string' ? socket.servername : undefined,
        server: spec,
      });
    });
    return server;
  }
}

export class PortListener {
  readonly port: number;
  readonly #d: ListenerDeps;
  readonly #net: Server;
  #servers: readonly GatewayServer[] = [];
  #terminators = new Map<string, Terminator>();
  #tls = false;
  readonly #open = new Set<Socket>();

  constructor(port: number, deps: ListenerDeps) {
    this.port = port;
    this.#d = deps;
    this.#net = createServer({ noDelay: true, allowHalfOpen: true }, (s) => this.#onConnection(s));
  }

  /** Replaces the servers on this port (new connections use them; open ones keep theirs). */
  update(servers: readonly GatewayServer[]): void {
    this.#servers = servers;
    this.#tls = servers.some((s) => s.tls !== undefined);
    const next = new Map<string, Terminator>();
    for (const s of servers) {
      if (s.tls === undefined || s.tls.mode === 'PASSTHROUGH') continue;
      const key = serverKey(s);
      next.set(key, this.#terminators.get(key) ?? new Terminator(s, this.#d));
    }
    this.#terminators = next;
  }

  /** Names of the credentials the servers on this port use. */
  credentialNames(): string[] {
    const out: string[] = [];
    for (const s of this.#servers) if (s.tls?.credentialName !== undefined) out.push(s.tls.credentialName);
    return out;
  }

  async listen(host: string, bindPort: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void =>
        reject(
          new GatewayError(GatewayErrorCode.Listen, `cannot listen on ${host}:${bindPort}: ${err.message}`, {
            cause: err,
          }),
        );
      this.#net.once('error', onError);
      this.#net.listen({ host, port: bindPort }, () => {
        this.#net.off('error', onError);
        resolve();
      });
    });
    const address = this.#net.address();
    return typeof address === 'object' && address !== null ? address.port : bindPort;
  }

  /** Stops accepting and closes the open connections. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#net.close(() => resolve()));
    for (const s of this.#open) s.destroy();
    return closed;
  }

  #onConnection(socket: Socket): void {
    socket.on('error', () => {});
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
    const first = this.#servers[0];
    if (first === undefined) {
      socket.destroy();
      return;
    }
    if (!this.#tls) {
      this.#d.onHttp(socket, {
        port: this.port,
        principal: '',
        sourceIp: socket.remoteAddress ?? '',
        localIp: socket.localAddress ?? '',
        sni: undefined,
        server: first,
      });
      return;
    }
    let buffered: Buffer | undefined;
    const timer = setTimeout(() => {
      this.#d.onRefused(this.port, 'timeout');
      socket.destroy();
    }, this.#d.handshakeTimeoutMs);
    const onData = (chunk: Buffer): void => {
      buffered = buffered === undefined ? chunk : Buffer.concat([buffered, chunk]);
      const hello = parseClientHello(buffered);
      if (hello.kind === 'need-more') return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      if (hello.kind === 'not-tls') {
        this.#d.onRefused(this.port, 'not_tls');
        socket.destroy();
        return;
      }
      const server = serverForSni(this.#servers, hello.sni);
      if (server === undefined || server.tls === undefined) {
        this.#d.onRefused(this.port, 'no_server', hello.sni);
        socket.destroy();
        return;
      }
      const info: DownstreamInfo = {
        port: this.port,
        principal: '',
        sourceIp: socket.remoteAddress ?? '',
        localIp: socket.localAddress ?? '',
        sni: hello.sni,
        server,
      };
      if (server.tls.mode === 'PASSTHROUGH') {
        this.#d.onPassthrough(socket, buffered, info);
        return;
      }
      const tls = this.#terminators.get(serverKey(server))?.current();
      if (tls === undefined) {
        this.#d.onRefused(this.port, 'no_credential');
        socket.destroy();
        return;
      }
      // The tls.Server's TLSSocket reads what the raw socket still buffers: the ClientHello we peeked at.
      socket.unshift(buffered);
      tls.emit('connection', socket);
    };
    const onEnd = (): void => {
      clearTimeout(timer);
      socket.destroy();
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
  }
}
