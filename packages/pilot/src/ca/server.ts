import {
  experimental,
  Metadata,
  Server,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import {
  CA_ERROR_CODE_METADATA,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
  IstioCertificateServiceService,
  type TrustBundleMessage,
  TrustBundleServiceService,
  type WatchTrustBundleRequest,
} from '@weft/certs';
import {
  errorCode,
  errorMessage,
  type Logger,
  type Registry,
  silentLogger,
  WeftError,
} from '@weft/telemetry';
import type { CallerAuthenticator, CallerCredentials } from './authn.js';
import type { CertificateAuthority } from './authority.js';
import { authorizeIssue, type WorkloadPlacement } from './authz.js';
import { type CaMetrics, caMetrics } from './metrics.js';

export interface CaServerOptions {
  ca: CertificateAuthority;
  authenticator: CallerAuthenticator;
  placement: WorkloadPlacement;
  /** Default 15012; 0 picks a free port. */
  port?: number;
  host?: string;
  /** pilot's serving certificate names (default: localhost, weft-pilot.weft-system.svc, 127.0.0.1). */
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  /** Serving certificate lifetime, default 30 days (renewed at half, and on every issuing-root change). */
  servingTtlSeconds?: number;
  registry?: Registry;
  logger?: Logger;
}

export interface CaServer {
  port: number;
  close(): Promise<void>;
}

/** gRPC status for each refusal code; anything else is INTERNAL. */
const STATUS_BY_CODE: Record<string, number> = {
  WEFT_CA_UNAUTHENTICATED: status.UNAUTHENTICATED,
  WEFT_CA_NOT_ON_NODE: status.PERMISSION_DENIED,
  WEFT_CA_NOT_OWN_IDENTITY: status.PERMISSION_DENIED,
  WEFT_CA_WRONG_TRUST_DOMAIN: status.PERMISSION_DENIED,
  WEFT_CA_CSR_SANS: status.INVALID_ARGUMENT,
  WEFT_CA_CSR_IDENTITY_MISMATCH: status.INVALID_ARGUMENT,
  WEFT_CA_REQUEST_TOO_LARGE: status.INVALID_ARGUMENT,
  WEFT_CA_NO_IDENTITY: status.INVALID_ARGUMENT,
  WEFT_CERTS_BAD_CSR: status.INVALID_ARGUMENT,
  WEFT_IDENTITY_INVALID: status.INVALID_ARGUMENT,
  WEFT_CA_TOKEN_REVIEW: status.UNAVAILABLE,
};

/** Serving certificate source for grpc-js: pushes a new certificate to the TLS server on rotation. */
class ServingCertificateProvider implements experimental.CertificateProvider {
  #current: experimental.IdentityCertificateUpdate | null = null;
  readonly #listeners = new Set<experimental.IdentityCertificateUpdateListener>();
  set(chainPem: string, keyPem: string): void {
    this.#current = { certificate: Buffer.from(chainPem), privateKey: Buffer.from(keyPem) };
    for (const l of this.#listeners) l(this.#current);
  }
  addCaCertificateListener(): void {}
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.#listeners.add(listener);
    // grpc-js registers this listener before its own watcher: answer on the next microtask, or the first
    // certificate reaches nobody and every connection is dropped as "unloaded credentials".
    queueMicrotask(() => {
      if (this.#current !== null && this.#listeners.has(listener)) listener(this.#current);
    });
  }
  removeIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.#listeners.delete(listener);
  }
}

function credentialsOf(md: Metadata): CallerCredentials {
  const auth = md.get('authorization')[0];
  const text = typeof auth === 'string' ? auth : undefined;
  const m = text === undefined ? null : /^Bearer\s+(.+)$/i.exec(text);
  const cluster = md.get('clusterid')[0];
  return { token: m?.[1]?.trim(), clusterId: typeof cluster === 'string' ? cluster : undefined };
}

/** The identity named in the request metadata (ImpersonatedIdentity), if any. */
function requestedIdentity(req: IstioCertificateRequest): string | undefined {
  const v = req.metadata?.ImpersonatedIdentity as unknown;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Serves `istio.v1.auth.IstioCertificateService/CreateCertificate` and
 * `weft.ca.v1.TrustBundleService/WatchTrustBundle` over TLS with a serving certificate from the CA itself.
 * Every refusal is a gRPC status plus an `x-weft-code` trailer, logged without key material; one bad
 * request never affects another.
 */
export async function startCaServer(options: CaServerOptions): Promise<CaServer> {
  const { ca, authenticator, placement } = options;
  const logger = (options.logger ?? silentLogger()).child({ component: 'ca-server' });
  const metrics: CaMetrics | undefined =
    options.registry === undefined ? undefined : caMetrics(options.registry);
  const provider = new ServingCertificateProvider();
  const servingTtl = options.servingTtlSeconds ?? 30 * 86_400;
  let renewTimer: NodeJS.Timeout | undefined;

  const issueServing = () => {
    const serving = ca.issueServing({
      dnsNames: options.dnsNames ?? [
        'localhost',
        'weft-pilot.weft-system.svc',
        'weft-pilot.weft-system.svc.cluster.local',
      ],
      ipAddresses: options.ipAddresses ?? ['127.0.0.1'],
      ttlSeconds: servingTtl,
    });
    provider.set(serving.chainPem, serving.keyPem);
    clearTimeout(renewTimer);
    renewTimer = setTimeout(
      issueServing,
      Math.min(2 ** 31 - 1, Math.max(1000, (serving.notAfter - Date.now()) / 2)),
    );
    renewTimer.unref();
    const issuing = ca.status().roots.find((r) => r.issuing);
    if (issuing !== undefined) metrics?.rootExpiry.set(Date.parse(issuing.notAfter) / 1000);
  };
  issueServing();

  const streams = new Set<ServerWritableStream<WatchTrustBundleRequest, TrustBundleMessage>>();
  const bundleMessage = (): TrustBundleMessage => {
    const b = ca.bundle();
    return { version: b.version, rootCerts: [...b.roots], trustDomain: ca.trustDomain };
  };
  const unsubscribe = ca.onChange((change) => {
    if (change === 'issuer') issueServing();
    if (change === 'bundle') {
      const msg = bundleMessage();
      for (const s of streams) s.write(msg);
    }
  });

  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 });

  server.addService(IstioCertificateServiceService, {
    createCertificate(
      call: ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>,
      callback: sendUnaryData<IstioCertificateResponse>,
    ) {
      metrics?.csrCount.inc();
      const peer = call.getPeer();
      let who = 'unauthenticated';
      let identity: string | undefined;
      (async () => {
        let caller: Awaited<ReturnType<CallerAuthenticator['authenticate']>>;
        try {
          caller = await authenticator.authenticate(credentialsOf(call.metadata));
        } catch (err) {
          metrics?.authnFailures.inc();
          throw err;
        }
        who = caller.name;
        identity =
          requestedIdentity(call.request) ?? (caller.kind === 'workload' ? caller.identity : undefined);
        if (identity === undefined)
          throw new WeftError(
            'WEFT_CA_NO_IDENTITY',
            'a node agent must name the identity in metadata ImpersonatedIdentity',
          );
        authorizeIssue(caller, identity, placement);
        return ca.sign(call.request.csr, identity, call.request.validityDuration);
      })().then(
        (certChain) => {
          metrics?.issued.inc();
          logger.debug({ caller: who, identity }, 'certificate issued');
          callback(null, { certChain });
        },
        (err: unknown) => {
          const code = errorCode(err);
          if (code === 'WEFT_CERTS_BAD_CSR') metrics?.csrParseErrors.inc();
          metrics?.refusals.inc({ code });
          const grpcCode = STATUS_BY_CODE[code] ?? status.INTERNAL;
          logger.warn(
            { code, caller: who, identity, peer, err: errorMessage(err) },
            'certificate request refused',
          );
          const md = new Metadata();
          md.set(CA_ERROR_CODE_METADATA, code);
          callback({ code: grpcCode, details: `${code}: ${errorMessage(err)}`, metadata: md });
        },
      );
    },
  });

  server.addService(TrustBundleServiceService, {
    // The roots are public (Istio publishes them in a ConfigMap in every namespace): no authentication.
    watchTrustBundle(call: ServerWritableStream<WatchTrustBundleRequest, TrustBundleMessage>) {
      streams.add(call);
      call.write(bundleMessage());
      const drop = () => streams.delete(call);
      call.on('cancelled', drop);
      call.on('close', drop);
      call.on('error', drop);
    },
  });

  // grpc-js 1.14 hands this function's first two arguments to the constructor swapped
  // (identity, ca): the serving certificate goes first, and no client certificates are requested.
  const creds = experimental.createCertificateProviderServerCredentials(provider, null, false);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host ?? '0.0.0.0'}:${options.port ?? 15012}`, creds, (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  logger.info({ port }, 'CA listening');

  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        unsubscribe();
        clearTimeout(renewTimer);
        for (const s of streams) s.end();
        streams.clear();
        server.tryShutdown(() => resolve());
        // Streams that do not finish promptly are cut.
        setTimeout(() => server.forceShutdown(), 2000).unref();
      }),
  };
}
