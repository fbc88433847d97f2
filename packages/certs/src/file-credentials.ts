import { createPrivateKey, type X509Certificate } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecureContext } from 'node:tls';
import {
  errorCode,
  errorMessage,
  type Logger,
  type Registry,
  silentLogger,
  WeftError,
} from '@weft/telemetry';
import { certificateInfo, parseCertificates } from './certificate.js';
import { type Clock, systemClock } from './clock.js';
import { type CertMetrics, certMetrics } from './metrics.js';
import { SecureContextCache } from './secure-context.js';
import { TrustBundle, type TrustBundleSnapshot } from './trust-bundle.js';
import type {
  BundleChangeListener,
  CertificateClient,
  RotationListener,
  WorkloadCertificate,
} from './types.js';

export interface FileCertificateClientOptions {
  /** Directory with tls.crt, tls.key and optionally ca.crt (a mounted Kubernetes Secret). */
  dir: string;
  /** The name this credential answers to in getCertificate (e.g. the Gateway's credentialName). */
  name: string;
  clock?: Clock;
  logger?: Logger;
  registry?: Registry;
}

/**
 * File-mounted credentials (Istio gateway `credentialName` Secrets) behind the CertificateClient
 * interface. Kubernetes swaps a Secret volume atomically by re-pointing the `..data` symlink; the
 * directory watch sees that rename and the files are re-read. A bad update keeps the last good one.
 */
export class FileCertificateClient implements CertificateClient {
  readonly #o: FileCertificateClientOptions;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #bundle = new TrustBundle();
  readonly #contexts = new SecureContextCache();
  readonly #metrics: CertMetrics | undefined;
  readonly #rotationListeners = new Set<RotationListener>();
  #cert: WorkloadCertificate | undefined;
  #watcher: FSWatcher | undefined;
  #reloading: Promise<void> | undefined;
  #again = false;

  constructor(options: FileCertificateClientOptions) {
    this.#o = options;
    this.#logger = (options.logger ?? silentLogger()).child({ component: 'certs-file', dir: options.dir });
    this.#clock = options.clock ?? systemClock;
    this.#metrics = options.registry === undefined ? undefined : certMetrics(options.registry);
  }

  /** Loads the files (throwing if they are unusable) and starts watching. */
  async start(): Promise<void> {
    await this.#load();
    this.#watcher = watch(this.#o.dir, () => this.reload());
    this.#watcher.on('error', (err) => this.#logger.warn({ err: errorMessage(err) }, 'watch failed'));
    this.#watcher.unref();
  }

  /** Re-reads the files now (also called on every change in the directory); coalesces bursts. */
  reload(): Promise<void> {
    if (this.#reloading !== undefined) {
      this.#again = true;
      return this.#reloading;
    }
    this.#reloading = (async () => {
      do {
        this.#again = false;
        try {
          await this.#load();
        } catch (err) {
          this.#metrics?.caErrors.inc({ code: errorCode(err) });
          this.#logger.warn(
            { code: errorCode(err), err: errorMessage(err) },
            'credential files unusable; keeping the last good ones',
          );
        }
      } while (this.#again);
    })().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  async #load(): Promise<void> {
    const read = (f: string) => readFile(join(this.#o.dir, f), 'utf8');
    const [crt, key, ca] = await Promise.all([
      read('tls.crt'),
      read('tls.key'),
      read('ca.crt').catch(() => ''),
    ]);
    const certs: X509Certificate[] = parseCertificates(crt);
    const leaf = certs[0];
    if (leaf === undefined)
      throw new WeftError('WEFT_CERTS_CHAIN_EMPTY', `${this.#o.dir}/tls.crt holds no certificate`);
    let keyOk = false;
    try {
      keyOk = leaf.checkPrivateKey(createPrivateKey(key));
    } catch (err) {
      throw new WeftError('WEFT_CERTS_BAD_PEM', `${this.#o.dir}/tls.key is not a readable private key`, {
        cause: err,
      });
    }
    if (!keyOk)
      throw new WeftError('WEFT_CERTS_KEY_MISMATCH', `${this.#o.dir}/tls.key does not belong to tls.crt`);
    const info = certificateInfo(leaf);
    if (this.#clock.now() >= info.notAfter)
      throw new WeftError(
        'WEFT_CERTS_EXPIRED',
        `${this.#o.dir}/tls.crt expired at ${new Date(info.notAfter).toISOString()}`,
      );
    if (ca !== '') this.#bundle.update(ca);
    const previous = this.#cert;
    if (previous?.serial === info.serial && previous.keyPem === key) return;
    const cert: WorkloadCertificate = {
      identity: this.#o.name,
      chainPem: certs.map((c) => c.toString()),
      keyPem: key,
      serial: info.serial,
      notBefore: info.notBefore,
      notAfter: info.notAfter,
      rootPem: this.#bundle.roots[0] ?? '',
    };
    this.#cert = cert;
    this.#metrics?.expiry.set({ identity: this.#o.name }, info.notAfter / 1000);
    if (previous !== undefined) this.#metrics?.rotations.inc({ identity: this.#o.name });
    this.#logger.info(
      { serial: info.serial },
      previous === undefined ? 'credentials loaded' : 'credentials reloaded',
    );
    for (const l of this.#rotationListeners) l(cert, previous);
  }

  #check(identity: string): void {
    if (identity !== this.#o.name)
      throw new WeftError(
        'WEFT_CERTS_UNKNOWN_IDENTITY',
        `file credentials serve "${this.#o.name}", not "${identity}"`,
      );
  }

  async getCertificate(identity: string): Promise<WorkloadCertificate> {
    this.#check(identity);
    const cert = this.current(identity);
    if (cert === undefined)
      throw new WeftError(
        'WEFT_CERTS_EXPIRED',
        `no unexpired certificate in ${this.#o.dir}; update the Secret`,
      );
    return cert;
  }

  current(identity: string): WorkloadCertificate | undefined {
    if (identity !== this.#o.name) return undefined;
    const cert = this.#cert;
    return cert !== undefined && this.#clock.now() < cert.notAfter ? cert : undefined;
  }

  trustBundle(): TrustBundleSnapshot {
    return this.#bundle.snapshot();
  }

  secureContext(identity: string): SecureContext | undefined {
    const cert = this.current(identity);
    return cert === undefined ? undefined : this.#contexts.get(cert, this.#bundle.snapshot());
  }

  forget(identity: string): void {
    if (identity === this.#o.name) this.close();
  }

  onRotation(listener: RotationListener): () => void {
    this.#rotationListeners.add(listener);
    return () => this.#rotationListeners.delete(listener);
  }

  onBundleChange(listener: BundleChangeListener): () => void {
    return this.#bundle.onChange(listener);
  }

  close(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#contexts.clear();
  }
}
