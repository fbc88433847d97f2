/**
 * Gateway credentials by `credentialName`: Kubernetes Secrets delivered by discovery (tls.crt / tls.key /
 * ca.crt, or cert / key / cacert, plus an optional `<name>-cacert` Secret), or a directory with one
 * folder per name holding the same files (mounted Secrets, watched by @weft/certs's
 * FileCertificateClient, so a `..data` symlink swap or a file rewrite applies without a restart).
 */
import { createHash } from 'node:crypto';
import { existsSync, type FSWatcher, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import { FileCertificateClient } from '@weft/certs';
import type { ConfigObject } from '@weft/config';
import { type Logger, silentLogger } from '@weft/telemetry';
import { errorMessage } from '@weft/telemetry/errors';
import { GatewayErrorCode } from './errors.js';

export interface Credential {
  /** Leaf first, then intermediates. */
  readonly certPem: string;
  /** Never log it. */
  readonly keyPem: string;
  /** Roots that verify client certificates (MUTUAL) or servers (origination); undefined if none. */
  readonly caPem: string | undefined;
  /** Changes whenever any of the above changes. */
  readonly version: string;
}

export interface CredentialSource {
  /**
   * The credential, or undefined while unknown (connections using it are refused). `namespace` is the
   * namespace of the object naming it (Gateway, DestinationRule), looked in after the gateway's own.
   */
  get(name: string, namespace?: string): Credential | undefined;
  /** The CA bundle alone (a `<name>-cacert` entry, or `ca.crt` of `name`). */
  caOf(name: string, namespace?: string): string | undefined;
  /** Start loading these names (file sources load lazily). */
  want(names: Iterable<string>): void;
  onChange(listener: () => void): () => void;
  close(): void;
}

function versionOf(...parts: (string | undefined)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p ?? '-').update('\0');
  return h.digest('hex').slice(0, 16);
}

function secretField(data: Record<string, unknown>, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = data[n];
    if (typeof v === 'string' && v !== '') return Buffer.from(v, 'base64').toString('utf8');
  }
  return undefined;
}

/** Reads one Secret object's PEM fields (data is base64, stringData plain). Pure. */
export function secretPems(object: Readonly<Record<string, unknown>>): {
  cert: string | undefined;
  key: string | undefined;
  ca: string | undefined;
} {
  const data = (object.data ?? {}) as Record<string, unknown>;
  const plain = (object.stringData ?? {}) as Record<string, unknown>;
  const pick = (...names: string[]): string | undefined => {
    for (const n of names) if (typeof plain[n] === 'string' && plain[n] !== '') return plain[n] as string;
    return secretField(data, ...names);
  };
  return { cert: pick('tls.crt', 'cert'), key: pick('tls.key', 'key'), ca: pick('ca.crt', 'cacert') };
}

/** Secrets in the gateway's namespace, from discovery. */
export class SecretCredentials implements CredentialSource {
  readonly #configs: () => ReadonlyMap<string, ConfigObject>;
  readonly #namespace: string;
  readonly #listeners = new Set<() => void>();
  #cache = new Map<string, Credential | undefined>();

  constructor(configs: () => ReadonlyMap<string, ConfigObject>, namespace: string) {
    this.#configs = configs;
    this.#namespace = namespace;
  }

  /** Call when discovery changed. */
  changed(): void {
    this.#cache = new Map();
    for (const l of this.#listeners) l();
  }

  /** The Secret in the gateway's namespace (Istio's rule), else in the referring object's namespace. */
  #secret(name: string, namespace: string | undefined): ConfigObject | undefined {
    let fallback: ConfigObject | undefined;
    for (const c of this.#configs().values()) {
      if (c.kind !== 'Secret' || c.apiVersion !== 'v1' || c.name !== name) continue;
      if (c.namespace === this.#namespace) return c;
      if (c.namespace === namespace) fallback = c;
    }
    return fallback;
  }

  caOf(name: string, namespace?: string): string | undefined {
    const separate = this.#secret(`${name}-cacert`, namespace);
    if (separate !== undefined) return secretPems(separate.object).ca;
    const own = this.#secret(name, namespace);
    return own === undefined ? undefined : secretPems(own.object).ca;
  }

  get(name: string, namespace?: string): Credential | undefined {
    const key = `${namespace ?? ''}/${name}`;
    if (this.#cache.has(key)) return this.#cache.get(key);
    const s = this.#secret(name, namespace);
    let cred: Credential | undefined;
    if (s !== undefined) {
      const { cert, key: keyPem } = secretPems(s.object);
      const ca = this.caOf(name, namespace);
      if (cert !== undefined && keyPem !== undefined)
        cred = { certPem: cert, keyPem, caPem: ca, version: versionOf(cert, keyPem, ca) };
    }
    this.#cache.set(key, cred);
    return cred;
  }

  want(): void {}

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#listeners.clear();
  }
}

interface FileEntry {
  client: FileCertificateClient | undefined;
  caWatcher: FSWatcher | undefined;
  ca: string | undefined;
}

/** `<dir>/<name>/{tls.crt,tls.key,ca.crt}` and `<dir>/<name>-cacert/ca.crt`, watched. */
export class FileCredentials implements CredentialSource {
  readonly #dir: string;
  readonly #log: Logger;
  readonly #entries = new Map<string, FileEntry>();
  readonly #listeners = new Set<() => void>();

  constructor(options: { dir: string; logger?: Logger }) {
    this.#dir = options.dir;
    this.#log = options.logger ?? silentLogger();
  }

  #notify(): void {
    for (const l of this.#listeners) l();
  }

  want(names: Iterable<string>): void {
    for (const name of names) {
      if (this.#entries.has(name) || name.includes('/') || name.startsWith('.')) continue;
      const dir = join(this.#dir, name);
      const caDir = join(this.#dir, `${name}-cacert`);
      // Not there yet: a later want() (next connection or config change) looks again.
      if (!existsSync(dir) && !existsSync(caDir)) continue;
      const entry: FileEntry = { client: undefined, caWatcher: undefined, ca: undefined };
      this.#entries.set(name, entry);
      if (existsSync(dir)) {
        const client = new FileCertificateClient({ dir, name, logger: this.#log });
        entry.client = client;
        client.onRotation(() => this.#notify());
        client.onBundleChange(() => this.#notify());
        client.start().then(
          () => this.#notify(),
          (err: unknown) =>
            this.#log.warn(
              { code: GatewayErrorCode.NoCredential, credential: name, err: errorMessage(err) },
              'gateway credential files unusable; servers using it refuse connections',
            ),
        );
      }
      if (existsSync(caDir)) {
        const load = (): void => {
          try {
            const ca = readFileSync(join(caDir, 'ca.crt'), 'utf8');
            if (ca !== entry.ca && ca.includes('BEGIN CERTIFICATE')) {
              entry.ca = ca;
              this.#notify();
            }
          } catch {
            // mid-swap: the next event reads it
          }
        };
        load();
        entry.caWatcher = watch(caDir, load);
        entry.caWatcher.on('error', () => {});
        entry.caWatcher.unref();
      }
    }
  }

  caOf(name: string): string | undefined {
    const e = this.#entries.get(name);
    if (e === undefined) return undefined;
    if (e.ca !== undefined) return e.ca;
    const roots = e.client?.trustBundle().roots ?? [];
    return roots.length > 0 ? roots.join('') : undefined;
  }

  get(name: string): Credential | undefined {
    const e = this.#entries.get(name);
    const cert = e?.client?.current(name);
    if (cert === undefined) return undefined;
    const ca = this.caOf(name);
    const certPem = cert.chainPem.join('');
    return { certPem, keyPem: cert.keyPem, caPem: ca, version: versionOf(cert.serial, ca) };
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    for (const e of this.#entries.values()) {
      e.client?.close();
      e.caWatcher?.close();
    }
    this.#entries.clear();
    this.#listeners.clear();
  }
}

/** The first source that knows a name wins (files before Secrets, as a mounted override). */
export class CombinedCredentials implements CredentialSource {
  readonly #sources: readonly CredentialSource[];

  constructor(sources: readonly CredentialSource[]) {
    this.#sources = sources;
  }

  get(name: string, namespace?: string): Credential | undefined {
    for (const s of this.#sources) {
      const c = s.get(name, namespace);
      if (c !== undefined) return c;
    }
    return undefined;
  }

  caOf(name: string, namespace?: string): string | undefined {
    for (const s of this.#sources) {
      const c = s.caOf(name, namespace);
      if (c !== undefined) return c;
    }
    return undefined;
  }

  want(names: Iterable<string>): void {
    const list = [...names];
    for (const s of this.#sources) s.want(list);
  }

  onChange(listener: () => void): () => void {
    const offs = this.#sources.map((s) => s.onChange(listener));
    return () => {
      for (const off of offs) off();
    };
  }

  close(): void {
    for (const s of this.#sources) s.close();
  }
}
