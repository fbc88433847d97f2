/**
 * Port 15012, like istiod's: xDS and the CA on one TLS port with pilot's serving certificate. The CA module
 * serves on its own gRPC server, so this front server hosts ADS itself and relays the CA's two methods
 * byte for byte (request, metadata such as `authorization`, status and trailers such as `x-weft-code`) to
 * the CA listening on loopback. The serving certificate comes from the same CA and is renewed at half its
 * lifetime and whenever the issuing root changes.
 */
import * as grpc from '@grpc/grpc-js';
import { errorMessage, type Logger } from '@weft/telemetry';
import type { XdsServer } from '@weft/xds';
import type { CertificateAuthority } from './ca/index.js';

const CA_METHODS = {
  createCertificate: { path: '/istio.v1.auth.IstioCertificateService/CreateCertificate', stream: false },
  watchTrustBundle: { path: '/weft.ca.v1.TrustBundleService/WatchTrustBundle', stream: true },
} as const;

const raw = (b: Buffer) => b;

function rawDefinition(path: string, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  };
}

/** Pushes a new serving certificate to the TLS server on rotation. */
class ServingCertificates implements grpc.experimental.CertificateProvider {
  #current: grpc.experimental.IdentityCertificateUpdate | null = null;
  readonly #listeners = new Set<grpc.experimental.IdentityCertificateUpdateListener>();
  set(chainPem: string, keyPem: string): void {
    this.#current = { certificate: Buffer.from(chainPem), privateKey: Buffer.from(keyPem) };
    for (const l of this.#listeners) l(this.#current);
  }
  addCaCertificateListener(): void {}
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.#listeners.add(listener);
    // grpc-js registers this listener before it is ready to apply a secure context: deliver on the next turn.
    setImmediate(() => {
      if (this.#current !== null && this.#listeners.has(listener)) listener(this.#current);
    });
  }
  removeIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.#listeners.delete(listener);
  }
}

export interface SecurePortOptions {
  authority: CertificateAuthority;
  /** Where the CA itself listens (loopback). */
  caPort: number;
  xds: XdsServer;
  port: number;
  host: string;
  logger: Logger;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
}

export interface SecurePort {
  port: number;
  close(): Promise<void>;
}

export async function startSecurePort(o: SecurePortOptions): Promise<SecurePort> {
  const serving = new ServingCertificates();
  let renew: NodeJS.Timeout | undefined;
  const issue = () => {
    const cert = o.authority.issueServing({
      dnsNames: o.dnsNames ?? [
        'localhost',
        'weft-pilot.weft-system.svc',
        'weft-pilot.weft-system.svc.cluster.local',
      ],
      ipAddresses: o.ipAddresses ?? ['127.0.0.1'],
      ttlSeconds: 30 * 86_400,
    });
    serving.set(cert.chainPem, cert.keyPem);
    clearTimeout(renew);
    renew = setTimeout(issue, Math.min(2 ** 31 - 1, Math.max(1000, (cert.notAfter - Date.now()) / 2)));
    renew.unref();
  };
  issue();
  const unsubscribe = o.authority.onChange((change) => {
    if (change === 'issuer') issue();
  });

  // The relay's own client to the CA, trusting the CA's current roots.
  const upstream = () =>
    new grpc.Client(
      `127.0.0.1:${o.caPort}`,
      grpc.credentials.createSsl(Buffer.from(o.authority.bundle().roots.join(''))),
      {
        'grpc.ssl_target_name_override': 'localhost',
        'grpc.default_authority': 'localhost',
      },
    );
  let client = upstream();
  let bundleVersion = o.authority.bundle().version;
  const clientFor = () => {
    const v = o.authority.bundle().version;
    if (v !== bundleVersion) {
      client.close();
      client = upstream();
      bundleVersion = v;
    }
    return client;
  };

  const server = new grpc.Server({ 'grpc.max_receive_message_length': 200 * 1024 * 1024 });
  o.xds.addTo(server);
  const service: grpc.ServiceDefinition = {
    createCertificate: rawDefinition(CA_METHODS.createCertificate.path, false),
    watchTrustBundle: rawDefinition(CA_METHODS.watchTrustBundle.path, true),
  };
  server.addService(service, {
    createCertificate(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) {
      clientFor().makeUnaryRequest(
        CA_METHODS.createCertificate.path,
        raw,
        raw,
        call.request,
        call.metadata,
        { deadline: Date.now() + 30_000 },
        (err, response) => {
          if (err !== null) callback({ code: err.code, details: err.details, metadata: err.metadata });
          else callback(null, response);
        },
      );
    },
    watchTrustBundle(call: grpc.ServerWritableStream<Buffer, Buffer>) {
      const upstreamCall = clientFor().makeServerStreamRequest(
        CA_METHODS.watchTrustBundle.path,
        raw,
        raw,
        call.request,
        call.metadata,
        {},
      );
      upstreamCall.on('data', (b: Buffer) => call.write(b));
      upstreamCall.on('end', () => call.end());
      upstreamCall.on('error', (err: grpc.ServiceError) => {
        if (err.code !== grpc.status.CANCELLED) call.emit('error', { code: err.code, details: err.details });
      });
      call.on('cancelled', () => upstreamCall.cancel());
      call.on('close', () => upstreamCall.cancel());
    },
  });
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(serving, null, false);
  const target = o.host.includes(':') ? `[${o.host}]:${o.port}` : `${o.host}:${o.port}`;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(target, credentials, (err, p) => (err === null ? resolve(p) : reject(err))),
    );
  } catch (err) {
    unsubscribe();
    clearTimeout(renew);
    client.close();
    throw err;
  }
  o.logger.info({ port }, 'xDS and CA listening over TLS');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        unsubscribe();
        clearTimeout(renew);
        const t = setTimeout(() => server.forceShutdown(), 2000);
        t.unref();
        server.tryShutdown((err) => {
          if (err !== undefined) o.logger.warn({ err: errorMessage(err) }, 'secure port shutdown');
          client.close();
          resolve();
        });
      }),
  };
}
