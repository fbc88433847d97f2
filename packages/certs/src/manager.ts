import type { SecureContext } from 'node:tls';
import {
  errorCode,
  errorMessage,
  type Logger,
  type Registry,
  silentLogger,
  WeftError,
} from '@weft/telemetry';
import { validateChain } from './chain.js';
import { type Clock, systemClock } from './clock.js';
import { generateKeyAndCsr, type KeyAndCsr } from './csr.js';
import { type CertMetrics, certMetrics } from './metrics.js';
import { SecureContextCache } from './secure-context.js';
import { Semaphore } from './semaphore.js';
import { parseSpiffeId } from './spiffe.js';
import type { TrustBundle, TrustBundleSnapshot } from './trust-bundle.js';
import type {
  BundleChangeListener,
  CertificateClient,
  RotationListener,
  WorkloadCertificate,
} from './types.js';

/** Something that signs CSRs: pilot over gRPC (IstioCaClient) or, in tests and benchmarks, in-process. */
export interface CertificateSigner {
  /** Returns the chain, leaf first. */
  sign(request: { csrPem: string; identity: string; ttlSeconds: number }): Promise<string[]>;
}

export interface CertificateManagerOptions {
  signer: CertificateSigner;
  /** Roots the returned chains must end at; kept current by a TrustBundleWatcher. */
  bundle: TrustBundle;
  /** Requested lifetime (SECRET_TTL), default 24 h. */
  ttlSeconds?: number;
  clock?: Clock;
  /** [0, 1), for jitter; injectable for deterministic tests. */
  random?: () => number;
  /** At most this many CSRs in flight (default 8). */
  maxInFlight?: number;
  /** Renew at this fraction of the lifetime (default 0.5), ± `jitter` of the lifetime (default 0.05). */
  refreshAt?: number;
  jitter?: number;
  /** Retry delays after failures: doubling from `initialMs` (1 s) up to `maxMs` (150 s, as ztunnel). */
  backoff?: { initialMs?: number; maxMs?: number };
  registry?: Registry;
  logger?: Logger;
  /** Key + CSR generation (default ECDSA P-256); replaceable for benchmarks. */
  keygen?: (identity: string) => Promise<KeyAndCsr>;
}

interface Entry {
  readonly identity: string;
  cert: WorkloadCertificate | undefined;
  inflight: Promise<WorkloadCertificate> | undefined;
  cancelTimer: (() => void) | undefined;
  failures: number;
  lastError: unknown;
  retryAt: number;
}

/**
 * The certificate client backed by a CA: one entry per identity, single-flight fetches, renewal at half
 * the lifetime with jitter, and on CA failure the current certificate is kept while retries back off.
 */
export class CertificateManager implements CertificateClient {
  readonly #o: Required<Omit<CertificateManagerOptions, 'registry' | 'backoff'>> & {
    backoffInitial: number;
    backoffMax: number;
  };
  readonly #entries = new Map<string, Entry>();
  readonly #contexts = new SecureContextCache();
  readonly #semaphore: Semaphore;
  readonly #metrics: CertMetrics | undefined;
  readonly #rotationListeners = new Set<RotationListener>();
  readonly #bundleListeners = new Set<BundleChangeListener>();
  readonly #unsubscribeBundle: () => void;
  #closed = false;

  constructor(options: CertificateManagerOptions) {
    this.#o = {
      signer: options.signer,
      bundle: options.bundle,
      ttlSeconds: options.ttlSeconds ?? 86_400,
      clock: options.clock ?? systemClock,
      random: options.random ?? Math.random,
      maxInFlight: options.maxInFlight ?? 8,
      refreshAt: options.refreshAt ?? 0.5,
      jitter: options.jitter ?? 0.05,
      backoffInitial: options.backoff?.initialMs ?? 1000,
      backoffMax: options.backoff?.maxMs ?? 150_000,
      logger: (options.logger ?? silentLogger()).child({ component: 'certs' }),
      keygen: options.keygen ?? generateKeyAndCsr,
    };
    this.#semaphore = new Semaphore(this.#o.maxInFlight);
    this.#metrics = options.registry === undefined ? undefined : certMetrics(options.registry);
    this.#unsubscribeBundle = this.#o.bundle.onChange((b) => this.#bundleChanged(b));
  }

  getCertificate(identity: string): Promise<WorkloadCertificate> {
    if (this.#closed)
      return Promise.reject(new WeftError('WEFT_CERTS_CLOSED', 'the certificate client is closed'));
    try {
      parseSpiffeId(identity);
    } catch (err) {
      return Promise.reject(err);
    }
    let entry = this.#entries.get(identity);
    if (entry === undefined) {
      entry = {
        identity,
        cert: undefined,
        inflight: undefined,
        cancelTimer: undefined,
        failures: 0,
        lastError: undefined,
        retryAt: 0,
      };
      this.#entries.set(identity, entry);
    }
    const now = this.#o.clock.now();
    if (entry.cert !== undefined && now < entry.cert.notAfter) return Promise.resolve(entry.cert);
    if (entry.inflight !== undefined) return entry.inflight;
    // Without a usable certificate and inside a backoff window, fail fast instead of hammering the CA.
    if (entry.lastError !== undefined && now < entry.retryAt) return Promise.reject(entry.lastError);
    return this.#fetch(entry);
  }

  current(identity: string): WorkloadCertificate | undefined {
    const cert = this.#entries.get(identity)?.cert;
    return cert !== undefined && this.#o.clock.now() < cert.notAfter ? cert : undefined;
  }

  trustBundle(): TrustBundleSnapshot {
    return this.#o.bundle.snapshot();
  }

  secureContext(identity: string): SecureContext | undefined {
    const cert = this.current(identity);
    return cert === undefined ? undefined : this.#contexts.get(cert, this.#o.bundle.snapshot());
  }

  /** Identities being kept fresh. */
  identities(): string[] {
    return [...this.#entries.keys()];
  }

  forget(identity: string): void {
    const entry = this.#entries.get(identity);
    if (entry === undefined) return;
    entry.cancelTimer?.();
    this.#entries.delete(identity);
    this.#contexts.delete(identity);
    this.#metrics?.expiry.remove({ identity });
  }

  onRotation(listener: RotationListener): () => void {
    this.#rotationListeners.add(listener);
    return () => this.#rotationListeners.delete(listener);
  }

  onBundleChange(listener: BundleChangeListener): () => void {
    this.#bundleListeners.add(listener);
    return () => this.#bundleListeners.delete(listener);
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribeBundle();
    for (const e of this.#entries.values()) e.cancelTimer?.();
    this.#entries.clear();
    this.#contexts.clear();
  }

  #fetch(entry: Entry): Promise<WorkloadCertificate> {
    const p = this.#request(entry.identity).then(
      (cert) => this.#succeeded(entry, cert),
      (err: unknown) => this.#failed(entry, err),
    );
    entry.inflight = p;
    // Background refreshes have no caller to receive the error; it is counted and logged in #failed.
    p.catch(() => {});
    return p;
  }

  async #request(identity: string): Promise<WorkloadCertificate> {
    const release = await this.#semaphore.acquire();
    const started = performance.now();
    try {
      const { keyPem, csrPem } = await this.#o.keygen(identity);
      const chainPem = await this.#o.signer.sign({ csrPem, identity, ttlSeconds: this.#o.ttlSeconds });
      const bundle = this.#o.bundle.snapshot();
      const v = validateChain({ chainPem, identity, roots: bundle.certs, now: this.#o.clock.now(), keyPem });
      this.#metrics?.csrDuration.observe({ outcome: 'ok' }, (performance.now() - started) / 1000);
      return {
        identity,
        chainPem: v.presented,
        keyPem,
        serial: v.leaf.serial,
        notBefore: v.leaf.notBefore,
        notAfter: v.leaf.notAfter,
        rootPem: v.root.toString(),
      };
    } catch (err) {
      this.#metrics?.csrDuration.observe({ outcome: 'error' }, (performance.now() - started) / 1000);
      throw err;
    } finally {
      release();
    }
  }

  #succeeded(entry: Entry, cert: WorkloadCertificate): WorkloadCertificate {
    entry.inflight = undefined;
    if (this.#closed || this.#entries.get(entry.identity) !== entry) return cert;
    const previous = entry.cert;
    entry.cert = cert;
    entry.failures = 0;
    entry.lastError = undefined;
    this.#metrics?.expiry.set({ identity: entry.identity }, cert.notAfter / 1000);
    if (previous !== undefined) this.#metrics?.rotations.inc({ identity: entry.identity });
    const lifetime = cert.notAfter - cert.notBefore;
    const fraction = this.#o.refreshAt + (this.#o.random() * 2 - 1) * this.#o.jitter;
    const at = cert.notBefore + lifetime * fraction;
    this.#schedule(entry, at - this.#o.clock.now());
    this.#o.logger.info(
      { identity: entry.identity, serial: cert.serial, expires: new Date(cert.notAfter).toISOString() },
      previous === undefined ? 'certificate issued' : 'certificate rotated',
    );
    for (const l of this.#rotationListeners) l(cert, previous);
    return cert;
  }

  #failed(entry: Entry, err: unknown): never {
    entry.inflight = undefined;
    const code = errorCode(err);
    this.#metrics?.caErrors.inc({ code });
    if (!this.#closed && this.#entries.get(entry.identity) === entry) {
      entry.failures++;
      entry.lastError = err;
      const base = Math.min(this.#o.backoffMax, this.#o.backoffInitial * 2 ** (entry.failures - 1));
      // Up to 10% jitter below the cap so agents that failed together do not retry together.
      const delay = Math.min(this.#o.backoffMax, base * (1 + 0.1 * this.#o.random()));
      entry.retryAt = this.#o.clock.now() + delay;
      this.#schedule(entry, delay);
      const keeping = entry.cert !== undefined && this.#o.clock.now() < entry.cert.notAfter;
      this.#o.logger.warn(
        { identity: entry.identity, code, err: errorMessage(err), retryInMs: Math.round(delay), keeping },
        keeping
          ? 'certificate renewal failed; keeping the current certificate'
          : 'certificate request failed',
      );
    }
    throw err;
  }

  #schedule(entry: Entry, delayMs: number): void {
    entry.cancelTimer?.();
    entry.cancelTimer = this.#o.clock.schedule(
      () => {
        entry.cancelTimer = undefined;
        if (this.#closed || entry.inflight !== undefined || this.#entries.get(entry.identity) !== entry)
          return;
        void this.#fetch(entry);
      },
      Math.max(0, delayMs),
    );
  }

  #bundleChanged(bundle: TrustBundleSnapshot): void {
    // A certificate whose root left the bundle no longer verifies anywhere: replace it now.
    for (const entry of this.#entries.values()) {
      const cert = entry.cert;
      if (cert === undefined || entry.inflight !== undefined) continue;
      if (!bundle.roots.includes(cert.rootPem)) {
        this.#o.logger.info(
          { identity: entry.identity },
          'root of the current certificate was removed; renewing',
        );
        void this.#fetch(entry);
      }
    }
    for (const l of this.#bundleListeners) l(bundle);
  }
}
