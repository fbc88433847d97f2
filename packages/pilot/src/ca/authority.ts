import { X509Certificate } from 'node:crypto';
import { type Clock, parseCsr, parseSpiffeId, splitCertificates, systemClock, toPem } from '@weft/certs';
import { type Logger, silentLogger, WeftError } from '@weft/telemetry';
import { type Material, pluginMaterial } from './plugin.js';
import {
  addRoot,
  type CaState,
  phaseOf,
  type RotationPhase,
  type RotationStage,
  retireRoots,
  retireSafeAt,
  switchRoot,
} from './rotation.js';
import type { CaStore, PluginCa } from './store.js';
import { buildCertificate, createRoot, issuerFrom, newKey } from './x509.js';

export interface CertificateAuthorityOptions {
  trustDomain?: string;
  clock?: Clock;
  /** Lifetime when the request asks for none (Istio DEFAULT_WORKLOAD_CERT_TTL), default 24 h. */
  defaultTtlSeconds?: number;
  /** Longer requests are clamped to this (Istio MAX_WORKLOAD_CERT_TTL), default 24 h. */
  maxTtlSeconds?: number;
  /** Lifetime of a generated root, default 10 years. */
  rootTtlSeconds?: number;
  logger?: Logger;
}

export interface CaRootStatus {
  subject: string;
  serial: string;
  fingerprint256: string;
  notAfter: string;
  issuing: boolean;
  addedAt?: string;
}

export interface CaStatus {
  mode: 'self-signed' | 'plugin';
  store: string;
  trustDomain: string;
  phase: RotationPhase;
  bundleVersion: number;
  roots: CaRootStatus[];
  switchedAt?: string;
  retireSafeAt?: string;
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
  /** Plug-in mode: reloads of the cacerts files since start, and the last one that could not be used. */
  plugin?: PluginReloadStatus;
}

export interface PluginReloadStatus {
  reloads: number;
  loadedAt: string;
  lastError?: { code: string; message: string; at: string };
}

export type CaChange = 'bundle' | 'issuer';

/** The largest CSR accepted (a P-256 CSR is ~500 bytes; RSA-4096 ~1.7 KiB). */
export const MAX_CSR_BYTES = 16 * 1024;
const SKEW_MS = 60_000;
/** Clock-skew allowance for a lifetime: a tenth of it, at most a minute. */
const skewFor = (ttlMs: number) => Math.min(SKEW_MS, ttlMs / 10);

function refuse(code: string, message: string): WeftError {
  return new WeftError(code, message);
}

/**
 * weft-pilot's certificate authority: checks CSRs, signs workload certificates (one URI SAN, no CN), and
 * owns the root of trust — generated and persisted on first start, or Istio's plug-in `cacerts` — with
 * staged root rotation (add → switch → retire).
 */
export class CertificateAuthority {
  readonly trustDomain: string;
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #store: CaStore | undefined;
  #plugin: PluginCa | undefined;
  #pluginReload: PluginReloadStatus | undefined;
  readonly #rootTtlSeconds: number;
  readonly #listeners = new Set<(change: CaChange) => void>();
  #state: CaState;
  #material: Material;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    options: CertificateAuthorityOptions,
    state: CaState,
    store: CaStore | undefined,
    plugin: PluginCa | undefined,
  ) {
    this.trustDomain = options.trustDomain ?? 'cluster.local';
    this.defaultTtlSeconds = options.defaultTtlSeconds ?? 86_400;
    this.maxTtlSeconds = Math.max(this.defaultTtlSeconds, options.maxTtlSeconds ?? 86_400);
    this.#clock = options.clock ?? systemClock;
    this.#logger = (options.logger ?? silentLogger()).child({ component: 'ca' });
    this.#rootTtlSeconds = options.rootTtlSeconds ?? 10 * 365 * 86_400;
    this.#store = store;
    this.#plugin = plugin;
    this.#pluginReload =
      plugin === undefined ? undefined : { reloads: 0, loadedAt: new Date(this.#clock.now()).toISOString() };
    this.#state = state;
    this.#material = plugin === undefined ? CertificateAuthority.#selfSigned(state) : pluginMaterial(plugin);
  }

  /** Self-signed mode: loads the root from `store`, or generates and saves one on first start. */
  static async open(
    store: CaStore,
    options: CertificateAuthorityOptions = {},
  ): Promise<CertificateAuthority> {
    let state = await store.load();
    if (state === undefined) {
      const clock = options.clock ?? systemClock;
      state = {
        version: 1,
        roots: [
          CertificateAuthority.#newRoot(
            options.trustDomain ?? 'cluster.local',
            clock.now(),
            options.rootTtlSeconds,
          ),
        ],
        issuing: 0,
      };
      try {
        await store.save(state);
        (options.logger ?? silentLogger()).info({ store: store.describe() }, 'generated a new root CA');
      } catch (err) {
        // Another pilot replica created the root first: use that one.
        if (!(err instanceof WeftError && err.code === 'WEFT_CA_STORE_CONFLICT')) throw err;
        const theirs = await store.load();
        if (theirs === undefined) throw err;
        state = theirs;
      }
    }
    return new CertificateAuthority(options, state, store, undefined);
  }

  /** Plug-in mode: signs with the intermediate from Istio's `cacerts` files. */
  static fromPlugin(plugin: PluginCa, options: CertificateAuthorityOptions = {}): CertificateAuthority {
    const roots = splitCertificates(plugin.rootCertPem);
    return new CertificateAuthority(
      options,
      { version: 1, roots: roots.map((certPem) => ({ certPem, keyPem: '', addedAt: 0 })), issuing: 0 },
      undefined,
      plugin,
    );
  }

  static #newRoot(trustDomain: string, now: number, ttlSeconds = 10 * 365 * 86_400) {
    const root = createRoot({
      commonName: `Weft Root CA ${new Date(now).toISOString().slice(0, 10)}`,
      organization: trustDomain,
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + ttlSeconds * 1000),
    });
    return { ...root, addedAt: now };
  }

  static #selfSigned(state: CaState): Material {
    const root = state.roots[state.issuing];
    if (root === undefined) throw refuse('WEFT_CA_STORE_CORRUPT', 'the CA state names no issuing root');
    const cert = new X509Certificate(root.certPem);
    return {
      issuer: issuerFrom(cert.raw, root.keyPem),
      chainAfterLeaf: [cert.toString()],
      roots: state.roots.map((r) => new X509Certificate(r.certPem).toString()),
      issuerNotAfter: Date.parse(cert.validTo),
    };
  }

  /**
   * Plug-in mode: switch to new `cacerts` files (Istio's plugged-in CA rotation) without a restart. The set
   * is checked as a whole first: an inconsistent one (say, half copied) throws WEFT_CA_PLUGIN_INVALID and
   * the CA keeps signing with what it had. To change roots safely, first put the old and the new root in
   * root-cert.pem (the bundle reaches every workload), then switch ca-cert.pem / ca-key.pem / cert-chain.pem
   * to the new intermediate, and drop the old root only once no certificate from it is left.
   */
  reloadPlugin(plugin: PluginCa): { bundleChanged: boolean; issuerChanged: boolean } {
    if (this.#plugin === undefined || this.#pluginReload === undefined)
      throw refuse(
        'WEFT_CA_NOT_PLUGIN',
        'this CA is self-signed, not plug-in: rotate it with `weftctl ca rotate --stage add|switch|retire`',
      );
    const now = this.#clock.now();
    let next: Material;
    try {
      next = pluginMaterial(plugin);
    } catch (err) {
      this.notePluginError(err);
      throw err;
    }
    const prev = this.#material;
    const bundleChanged =
      next.roots.length !== prev.roots.length || next.roots.some((r, i) => r !== prev.roots[i]);
    const issuerChanged = next.chainAfterLeaf[0] !== prev.chainAfterLeaf[0];
    const previousRoot = prev.chainAfterLeaf[prev.chainAfterLeaf.length - 1];
    if (previousRoot !== undefined && !next.roots.includes(previousRoot))
      this.#logger.warn(
        'root-cert.pem no longer holds the root of the previous intermediate: workloads with certificates from it fail mTLS until they renew',
      );
    this.#plugin = plugin;
    this.#material = next;
    this.#pluginReload = { reloads: this.#pluginReload.reloads + 1, loadedAt: new Date(now).toISOString() };
    if (bundleChanged)
      this.#state = {
        version: this.#state.version + 1,
        roots: next.roots.map((certPem) => ({ certPem, keyPem: '', addedAt: now })),
        issuing: 0,
      };
    this.#logger.info(
      { bundleChanged, issuerChanged, bundleVersion: this.#state.version, roots: next.roots.length },
      'plug-in CA files reloaded',
    );
    this.#notify(bundleChanged, issuerChanged);
    return { bundleChanged, issuerChanged };
  }

  #notify(bundleChanged: boolean, issuerChanged: boolean): void {
    if (bundleChanged) for (const l of this.#listeners) l('bundle');
    if (issuerChanged) for (const l of this.#listeners) l('issuer');
  }

  /** Plug-in mode: remember why changed cacerts files could not be used (shown by `/ca/status`). */
  notePluginError(err: unknown): void {
    if (this.#pluginReload === undefined) return;
    const code = err instanceof WeftError ? err.code : 'WEFT_CA_PLUGIN_INVALID';
    const message = err instanceof Error ? err.message : String(err);
    this.#pluginReload = {
      ...this.#pluginReload,
      lastError: { code, message, at: new Date(this.#clock.now()).toISOString() },
    };
  }

  /** The files the plug-in CA signs with now (undefined when self-signed). */
  pluginFiles(): PluginCa | undefined {
    return this.#plugin;
  }

  /** The trust bundle every client should hold: every root, and its version. */
  bundle(): { version: number; roots: readonly string[] } {
    return { version: this.#state.version, roots: this.#material.roots };
  }

  /** Called after the bundle (roots) or the issuing root changed. */
  onChange(listener: (change: CaChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Clamps a requested lifetime: 0 or less → default; above the maximum → the maximum. */
  ttlFor(requestedSeconds: number): number {
    if (!Number.isFinite(requestedSeconds) || requestedSeconds <= 0) return this.defaultTtlSeconds;
    return Math.min(Math.floor(requestedSeconds), this.maxTtlSeconds);
  }

  /**
   * Checks a CSR for `identity` and signs it. The CSR must verify and carry exactly one SAN, a URI equal
   * to `identity`, in our trust domain. Returns the chain, leaf first, root last.
   */
  sign(csrPem: string, identity: string, requestedTtlSeconds: number): string[] {
    if (csrPem.length > MAX_CSR_BYTES)
      throw refuse(
        'WEFT_CA_REQUEST_TOO_LARGE',
        `the CSR is ${csrPem.length} bytes; the limit is ${MAX_CSR_BYTES}`,
      );
    const id = parseSpiffeId(identity);
    if (id.trustDomain !== this.trustDomain)
      throw refuse(
        'WEFT_CA_WRONG_TRUST_DOMAIN',
        `this CA issues identities in "${this.trustDomain}", not "${id.trustDomain}"`,
      );
    const csr = parseCsr(csrPem);
    const { uris, dnsNames, ipAddresses, other } = csr.sans;
    if (uris.length !== 1 || dnsNames.length + ipAddresses.length + other.length > 0)
      throw refuse(
        'WEFT_CA_CSR_SANS',
        `a workload CSR must carry exactly one SAN, the SPIFFE URI; this one has ${uris.length} URI, ${dnsNames.length} DNS, ${ipAddresses.length} IP and ${other.length} other names`,
      );
    if (uris[0] !== identity)
      throw refuse(
        'WEFT_CA_CSR_IDENTITY_MISMATCH',
        `the CSR asks for ${uris[0]}, but the request is for ${identity}`,
      );
    const ttlMs = this.ttlFor(requestedTtlSeconds) * 1000;
    const now = this.#clock.now();
    const m = this.#material;
    const leaf = buildCertificate(
      {
        spki: csr.spki,
        // Back-dated a little for clock skew between nodes; never more than a tenth of the lifetime.
        notBefore: new Date(now - skewFor(ttlMs)),
        notAfter: new Date(Math.min(now + ttlMs, m.issuerNotAfter)),
        uris: [identity],
      },
      m.issuer,
    );
    return [toPem('CERTIFICATE', leaf), ...m.chainAfterLeaf];
  }

  /** pilot's own TLS certificate (DNS/IP SANs), leaf + intermediates, with a fresh key. */
  issueServing(options: {
    dnsNames: readonly string[];
    ipAddresses: readonly string[];
    ttlSeconds: number;
  }): {
    chainPem: string;
    keyPem: string;
    notAfter: number;
  } {
    const { spki, keyPem } = newKey();
    const now = this.#clock.now();
    const m = this.#material;
    const notAfter = Math.min(now + options.ttlSeconds * 1000, m.issuerNotAfter);
    const leaf = buildCertificate(
      {
        spki,
        notBefore: new Date(now - SKEW_MS),
        notAfter: new Date(notAfter),
        dnsNames: options.dnsNames,
        ipAddresses: options.ipAddresses,
      },
      m.issuer,
    );
    const intermediates = m.chainAfterLeaf.filter((p) => !m.roots.includes(p));
    return { chainPem: [toPem('CERTIFICATE', leaf), ...intermediates].join(''), keyPem, notAfter };
  }

  status(): CaStatus {
    const maxLifetimeMs = this.#retireWaitMs();
    const safe = retireSafeAt(this.#state, maxLifetimeMs);
    return {
      mode: this.#plugin === undefined ? 'self-signed' : 'plugin',
      store: this.#store?.describe() ?? 'plug-in cacerts files',
      trustDomain: this.trustDomain,
      phase: this.#plugin === undefined ? phaseOf(this.#state) : 'steady',
      bundleVersion: this.#state.version,
      roots: this.#material.roots.map((pem, i) => {
        const c = new X509Certificate(pem);
        const stored = this.#state.roots[i];
        return {
          subject: c.subject.replace(/\n/g, ', '),
          serial: c.serialNumber,
          fingerprint256: c.fingerprint256,
          notAfter: new Date(Date.parse(c.validTo)).toISOString(),
          issuing:
            this.#plugin === undefined
              ? i === this.#state.issuing
              : pem === this.#material.chainAfterLeaf[this.#material.chainAfterLeaf.length - 1],
          ...(stored !== undefined && stored.addedAt > 0
            ? { addedAt: new Date(stored.addedAt).toISOString() }
            : {}),
        };
      }),
      ...(this.#state.switchedAt === undefined
        ? {}
        : { switchedAt: new Date(this.#state.switchedAt).toISOString() }),
      ...(safe === undefined ? {} : { retireSafeAt: new Date(safe).toISOString() }),
      defaultTtlSeconds: this.defaultTtlSeconds,
      maxTtlSeconds: this.maxTtlSeconds,
      ...(this.#pluginReload === undefined ? {} : { plugin: this.#pluginReload }),
    };
  }

  /** Old-root certificates can live at most this long after the switch. */
  #retireWaitMs(): number {
    return this.maxTtlSeconds * 1000 + skewFor(this.maxTtlSeconds * 1000);
  }

  /** Runs one rotation stage (serialised with other stages), persists it, and notifies listeners. */
  rotate(stage: RotationStage, options: { force?: boolean } = {}): Promise<CaStatus> {
    const run = async (): Promise<CaStatus> => {
      if (this.#plugin !== undefined || this.#store === undefined)
        throw refuse(
          'WEFT_CA_PLUGIN_ROTATION',
          'this CA signs with plug-in cacerts files: rotate by replacing them (add the new root to root-cert.pem first)',
        );
      const now = this.#clock.now();
      let next: CaState;
      if (stage === 'add')
        next = addRoot(
          this.#state,
          CertificateAuthority.#newRoot(this.trustDomain, now, this.#rootTtlSeconds),
        );
      else if (stage === 'switch') next = switchRoot(this.#state, now);
      else if (stage === 'retire')
        next = retireRoots(this.#state, now, this.#retireWaitMs(), options.force === true);
      else
        throw refuse('WEFT_CA_ROTATION_STAGE', `unknown stage "${String(stage)}"; use add, switch or retire`);
      await this.#store.save(next);
      const bundleChanged = next.version !== this.#state.version;
      const issuerChanged =
        next.roots[next.issuing]?.certPem !== this.#state.roots[this.#state.issuing]?.certPem;
      this.#state = next;
      this.#material = CertificateAuthority.#selfSigned(next);
      this.#logger.info(
        { stage, phase: phaseOf(next), bundleVersion: next.version, force: options.force === true },
        'root rotation stage done',
      );
      this.#notify(bundleChanged, issuerChanged);
      return this.status();
    };
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => {});
    return p;
  }
}
