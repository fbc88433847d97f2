import { type ChannelCredentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { WeftError } from '@weft/telemetry';
import { IstioCertificateServiceClient } from '@weft/xds';
import { channelCredentials, channelOptions, type PilotConnection } from './grpc-tls.js';
import type { CertificateSigner } from './manager.js';

export interface IstioCaClientOptions extends PilotConnection {
  /** Send `ImpersonatedIdentity` (a node agent asking for its pods' identities). Default true. */
  impersonate?: boolean;
  /** Per-call deadline, default 10 s. */
  timeoutMs?: number;
}

/** Metadata key pilot's CA uses to carry the Weft error code of a refusal. */
export const CA_ERROR_CODE_METADATA = 'x-weft-code';

const RETRYABLE = new Set<number>([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.RESOURCE_EXHAUSTED,
  status.INTERNAL,
  status.UNKNOWN,
]);

/** Turns a gRPC failure into a WeftError carrying the server's code when it sent one. */
export function caError(err: ServiceError): WeftError {
  const serverCode = err.metadata?.get(CA_ERROR_CODE_METADATA)[0];
  const retryable = RETRYABLE.has(err.code);
  return new WeftError(
    retryable ? 'WEFT_CERTS_CA_UNAVAILABLE' : 'WEFT_CERTS_CA_REJECTED',
    retryable
      ? `the CA is unavailable (${status[err.code]}): ${err.details}; retrying with backoff`
      : `the CA refused the request (${status[err.code]}): ${err.details}`,
    { details: { grpcCode: status[err.code], ...(typeof serverCode === 'string' ? { serverCode } : {}) } },
  );
}

/**
 * `istio.v1.auth.IstioCertificateService/CreateCertificate` over TLS, as ztunnel calls istiod: bearer
 * token + clusterid metadata, ImpersonatedIdentity in the request metadata. The channel is rebuilt when
 * the trust roots change so a rotated pilot certificate still verifies.
 */
export class IstioCaClient implements CertificateSigner {
  readonly #o: IstioCaClientOptions;
  #client: IstioCertificateServiceClient | undefined;
  #rootsKey = '';

  constructor(options: IstioCaClientOptions) {
    this.#o = options;
  }

  #channel(): IstioCertificateServiceClient {
    const key = this.#o.roots().join('');
    if (this.#client === undefined || key !== this.#rootsKey) {
      this.#client?.close();
      const creds: ChannelCredentials = channelCredentials(this.#o);
      this.#client = new IstioCertificateServiceClient(this.#o.address, creds, channelOptions(this.#o));
      this.#rootsKey = key;
    }
    return this.#client;
  }

  async sign(request: { csrPem: string; identity: string; ttlSeconds: number }): Promise<string[]> {
    const md = new Metadata();
    const token = await this.#o.token?.();
    if (token !== undefined && token !== '') md.set('authorization', `Bearer ${token}`);
    md.set('clusterid', this.#o.clusterId ?? 'Kubernetes');
    const client = this.#channel();
    return new Promise((resolve, reject) => {
      client.createCertificate(
        {
          csr: request.csrPem,
          validityDuration: request.ttlSeconds,
          metadata: this.#o.impersonate === false ? undefined : { ImpersonatedIdentity: request.identity },
        },
        md,
        { deadline: Date.now() + (this.#o.timeoutMs ?? 10_000) },
        (err, res) => {
          if (err !== null) reject(caError(err));
          else resolve(res.certChain);
        },
      );
    });
  }

  close(): void {
    this.#client?.close();
    this.#client = undefined;
  }
}
