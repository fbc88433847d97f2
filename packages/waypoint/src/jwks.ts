/**
 * JSON Web Key Sets for RequestAuthentication: inline (`jwks`) or fetched (`jwksUri`, HTTPS with a
 * timeout). A fetched set is cached, refreshed when stale and, rate limited, when a token names an
 * unknown kid; a failed refresh keeps the last good set. Keys are resolved by jose's local JWK set.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { WaypointError, WaypointErrorCode } from './errors.js';

export type KeyResolver = JWTVerifyGetKey;

/** Bytes a JWKS document may have. */
const MAX_JWKS_BYTES = 1024 * 1024;

/** Parses and checks a JWKS document; throws WaypointError on garbage. */
export function parseJwks(text: string, source: string): JSONWebKeySet {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new WaypointError(WaypointErrorCode.JwksFetch, `JWKS from ${source} is not JSON`, { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { keys?: unknown }).keys)) {
    throw new WaypointError(WaypointErrorCode.JwksFetch, `JWKS from ${source} has no "keys" array`);
  }
  const keys = (doc as { keys: unknown[] }).keys.filter(
    (k): k is Record<string, unknown> =>
      typeof k === 'object' && k !== null && typeof (k as { kty?: unknown }).kty === 'string',
  );
  if (keys.length === 0)
    throw new WaypointError(WaypointErrorCode.JwksFetch, `JWKS from ${source} has no usable keys`);
  return { keys } as JSONWebKeySet;
}

export type JwksFetcher = (uri: string, timeoutMs: number) => Promise<string>;

export interface FetchOptions {
  /** Extra trusted roots for HTTPS JWKS servers (PEM). */
  ca?: string;
}

/** GET `uri` (http or https) with a timeout and a size cap; resolves with the body of a 200. */
export function httpFetcher(options: FetchOptions = {}): JwksFetcher {
  return (uri, timeoutMs) =>
    new Promise<string>((resolve, reject) => {
      let url: URL;
      try {
        url = new URL(uri);
      } catch (err) {
        reject(new WaypointError(WaypointErrorCode.JwksFetch, `jwksUri ${uri} is not a URL`, { cause: err }));
        return;
      }
      const fail = (why: string, cause?: unknown): void =>
        reject(
          new WaypointError(WaypointErrorCode.JwksFetch, `JWKS fetch from ${uri} failed: ${why}`, {
            ...(cause === undefined ? {} : { cause }),
          }),
        );
      const onResponse = (res: IncomingMessage): void => {
        if (res.statusCode !== 200) {
          res.resume();
          fail(`HTTP ${res.statusCode}`);
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_JWKS_BYTES) {
            res.destroy();
            fail(`body larger than ${MAX_JWKS_BYTES} bytes`);
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', (err) => fail(err.message, err));
      };
      const opts = {
        method: 'GET',
        timeout: timeoutMs,
        headers: { accept: 'application/json' },
        ...(url.protocol === 'https:' && options.ca !== undefined ? { ca: options.ca } : {}),
      };
      const req =
        url.protocol === 'https:'
          ? httpsRequest(url, opts, onResponse)
          : url.protocol === 'http:'
            ? httpRequest(url, opts, onResponse)
            : undefined;
      if (req === undefined) {
        fail(`unsupported scheme ${url.protocol}`);
        return;
      }
      req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
      req.on('error', (err) => fail(err.message, err));
      req.end();
    });
}

/** An inline JWKS: parsed once. */
export function inlineJwks(text: string): KeyResolver {
  return createLocalJWKSet(parseJwks(text, 'inline jwks'));
}

export interface RemoteJwksOptions {
  uri: string;
  fetcher: JwksFetcher;
  /** Fetch timeout (RequestAuthentication jwtRules[].timeout; Istio's default 5 s). */
  timeoutMs?: number;
  /** How long a fetched set is fresh (Istio refreshes every 20 min). */
  maxAgeMs?: number;
  /** At most one refresh for an unknown kid per this interval. */
  cooldownMs?: number;
  now?: () => number;
}

/** A fetched JWKS with caching, unknown-kid refresh and last-good fallback. */
export class RemoteJwks {
  readonly #o: Required<Omit<RemoteJwksOptions, 'now'>> & { now: () => number };
  #set: KeyResolver | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | undefined;
  #lastError: unknown;
  /** Increments whenever a new set is installed (verification caches key on it). */
  generation = 0;

  constructor(options: RemoteJwksOptions) {
    this.#o = {
      uri: options.uri,
      fetcher: options.fetcher,
      timeoutMs: options.timeoutMs ?? 5_000,
      maxAgeMs: options.maxAgeMs ?? 20 * 60_000,
      cooldownMs: options.cooldownMs ?? 30_000,
      now: options.now ?? Date.now,
    };
  }

  get lastError(): unknown {
    return this.#lastError;
  }

  get hasKeys(): boolean {
    return this.#set !== undefined;
  }

  /** Fetch now (single flight); a failure keeps the previous set. */
  refresh(): Promise<void> {
    this.#inflight ??= (async () => {
      this.#lastAttempt = this.#o.now();
      try {
        const text = await this.#o.fetcher(this.#o.uri, this.#o.timeoutMs);
        this.#set = createLocalJWKSet(parseJwks(text, this.#o.uri));
        this.#fetchedAt = this.#o.now();
        this.#lastError = undefined;
        this.generation++;
      } catch (err) {
        this.#lastError = err;
      } finally {
        this.#inflight = undefined;
      }
    })();
    return this.#inflight;
  }

  /** jose's key resolver interface. */
  readonly resolve: KeyResolver = async (header, token) => {
    const now = this.#o.now();
    if (this.#set === undefined) {
      if (now - this.#lastAttempt >= Math.min(this.#o.cooldownMs, 1_000) || this.#inflight !== undefined) {
        await this.refresh();
      }
    } else if (now - this.#fetchedAt > this.#o.maxAgeMs && this.#inflight === undefined) {
      void this.refresh(); // stale: serve the current set while a new one loads
    }
    const set = this.#set;
    if (set === undefined) {
      throw new WaypointError(WaypointErrorCode.JwksFetch, `no JWKS from ${this.#o.uri} yet`, {
        cause: this.#lastError,
      });
    }
    try {
      return await set(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      if (this.#o.now() - this.#lastAttempt < this.#o.cooldownMs) throw err;
      await this.refresh();
      const again = this.#set;
      if (again === set || again === undefined) throw err;
      return again(header, token);
    }
  };
}

/** What a provider says about its keys (the fields of @weft/policy's JwtProvider this file reads). */
export interface KeySource {
  readonly issuer: string;
  readonly jwks?: string;
  readonly jwksUri?: string;
  readonly timeoutMs?: number;
}

/**
 * One key set per distinct inline JWKS or URI, kept across policy rebuilds so fetched sets and their
 * caches survive config changes. A provider without keys gets a resolver that always fails (401).
 */
export class JwksRegistry {
  readonly #fetcher: JwksFetcher;
  readonly #remote = new Map<string, RemoteJwks>();
  readonly #inline = new Map<string, KeyResolver>();
  readonly #options: Omit<RemoteJwksOptions, 'uri' | 'fetcher' | 'timeoutMs'>;

  constructor(fetcher: JwksFetcher, options: Omit<RemoteJwksOptions, 'uri' | 'fetcher' | 'timeoutMs'> = {}) {
    this.#fetcher = fetcher;
    this.#options = options;
  }

  keysFor(source: KeySource): KeyResolver {
    if (source.jwks !== undefined) {
      let r = this.#inline.get(source.jwks);
      if (r === undefined) {
        try {
          r = inlineJwks(source.jwks);
        } catch (err) {
          const failure = err;
          r = async () => {
            throw failure;
          };
        }
        this.#inline.set(source.jwks, r);
      }
      return r;
    }
    if (source.jwksUri !== undefined) {
      let remote = this.#remote.get(source.jwksUri);
      if (remote === undefined) {
        remote = new RemoteJwks({
          ...this.#options,
          uri: source.jwksUri,
          fetcher: this.#fetcher,
          ...(source.timeoutMs === undefined ? {} : { timeoutMs: source.timeoutMs }),
        });
        this.#remote.set(source.jwksUri, remote);
        void remote.refresh(); // warm up so the first request does not wait
      }
      return remote.resolve;
    }
    return async () => {
      throw new WaypointError(
        WaypointErrorCode.JwksFetch,
        `jwtRules for issuer ${source.issuer} have neither jwks nor jwksUri`,
      );
    };
  }

  /** For /config_dump: each fetched set and whether it has keys. */
  dump(): Record<string, { hasKeys: boolean; generation: number; lastError?: string }> {
    const out: Record<string, { hasKeys: boolean; generation: number; lastError?: string }> = {};
    for (const [uri, r] of this.#remote) {
      const e = r.lastError;
      out[uri] = {
        hasKeys: r.hasKeys,
        generation: r.generation,
        ...(e === undefined ? {} : { lastError: e instanceof Error ? e.message : String(e) }),
      };
    }
    return out;
  }
}
