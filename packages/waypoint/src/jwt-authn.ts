/**
 * RequestAuthentication at the waypoint: @weft/policy extracts the tokens and decides the outcome in
 * Envoy's order (no token passes; invalid 401 with WWW-Authenticate; audience 403); this file does the
 * crypto with jose and keeps verified tokens in a bounded cache until they expire, so repeated requests
 * with the same token skip the signature check.
 */

import {
  extractJwtTokens,
  isCorsPreflight,
  JWT_CLOCK_SKEW_SECONDS,
  type JwtOutcome,
  type JwtProvider,
  jwtOutcome,
  type VerifiedToken,
} from '@weft/policy';
import { decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { WaypointError } from './errors.js';
import type { KeyResolver } from './jwks.js';

export type { JwtOutcome, JwtProvider } from '@weft/policy';

/** Algorithms accepted; `none` and HMAC never (a public JWKS cannot verify them). */
export const JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];
/** Tokens longer than this are refused without decoding. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

interface CacheEntry {
  readonly payload: Readonly<Record<string, unknown>>;
  readonly until: number;
}

export interface JwtAuthenticatorOptions {
  /** The key set of each provider (by its issuer). */
  keys: (provider: JwtProvider) => KeyResolver;
  now?: () => number;
  /** Verified tokens kept (default 10 000). */
  cacheSize?: number;
  /** A cached verification is trusted at most this long (default 5 min), never past exp. */
  cacheTtlMs?: number;
}

const UNAUTHENTICATED: JwtOutcome = { kind: 'unauthenticated' };

function decodePayload(token: string): Readonly<Record<string, unknown>> | undefined {
  const first = token.indexOf('.');
  const second = first === -1 ? -1 : token.indexOf('.', first + 1);
  if (first <= 0 || second === -1 || token.indexOf('.', second + 1) !== -1) return undefined;
  try {
    const payload: unknown = JSON.parse(
      Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8'),
    );
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
    return payload as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function statusOf(err: unknown): VerifiedToken['status'] {
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
    return 'unknown-kid';
  if (err instanceof WaypointError) return 'jwks-unavailable';
  return 'bad-signature';
}

export class JwtAuthenticator {
  readonly providers: readonly JwtProvider[];
  readonly #keys: Map<JwtProvider, KeyResolver>;
  readonly #now: () => number;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #cacheSize: number;
  readonly #cacheTtlMs: number;

  constructor(providers: readonly JwtProvider[], options: JwtAuthenticatorOptions) {
    this.providers = providers;
    this.#keys = new Map(providers.map((p) => [p, options.keys(p)]));
    this.#now = options.now ?? Date.now;
    this.#cacheSize = options.cacheSize ?? 10_000;
    this.#cacheTtlMs = options.cacheTtlMs ?? 5 * 60_000;
  }

  /**
   * The outcome for one request; `host` and `path` make the WWW-Authenticate realm. Synchronous when no
   * token is present or every token is a cached verification (the common case), a Promise otherwise.
   */
  authenticate(
    method: string,
    host: string,
    path: string,
    headers: HeaderBag,
  ): JwtOutcome | Promise<JwtOutcome> {
    if (this.providers.length === 0 || isCorsPreflight(method, headers)) return UNAUTHENTICATED;
    const q = path.indexOf('?');
    const found = extractJwtTokens(
      this.providers,
      q === -1 ? { headers } : { headers, query: path.slice(q + 1) },
    );
    if (found.length === 0) return UNAUTHENTICATED;
    const now = this.#now();
    const realm = `http://${host}${q === -1 ? path : path.slice(0, q)}`;
    const verified: VerifiedToken[] = [];
    for (const t of found) {
      const cached = this.#cache.get(t.token);
      if (cached === undefined || cached.until <= now) break;
      verified.push({ status: 'ok', payload: cached.payload, token: t.token, location: t.location });
    }
    if (verified.length === found.length)
      return jwtOutcome(this.providers, verified, { nowSeconds: now / 1000, realm });
    return (async () => {
      const all: VerifiedToken[] = [];
      for (const t of found) {
        const v = await this.#verify(t.token, now);
        all.push({ ...v, token: t.token, location: t.location });
      }
      return jwtOutcome(this.providers, all, { nowSeconds: now / 1000, realm });
    })();
  }

  async #verify(token: string, now: number): Promise<Omit<VerifiedToken, 'token'>> {
    const cached = this.#cache.get(token);
    if (cached !== undefined) {
      if (cached.until > now) return { status: 'ok', payload: cached.payload };
      this.#cache.delete(token);
    }
    if (token.length > MAX_TOKEN_LENGTH) return { status: 'malformed' };
    const payload = decodePayload(token);
    if (payload === undefined) return { status: 'malformed' };
    const provider = this.providers.find((p) => p.issuer === payload.iss);
    const keys = provider === undefined ? undefined : this.#keys.get(provider);
    // Unknown issuer, expired or not yet valid: the outcome says so before looking at the signature.
    const seconds = now / 1000;
    if (
      keys === undefined ||
      (typeof payload.exp === 'number' && seconds > payload.exp + JWT_CLOCK_SKEW_SECONDS) ||
      (typeof payload.nbf === 'number' && payload.nbf > seconds + JWT_CLOCK_SKEW_SECONDS)
    ) {
      return { status: 'bad-signature', payload };
    }
    try {
      const header = decodeProtectedHeader(token);
      if (typeof header.alg !== 'string' || !JWT_ALGORITHMS.includes(header.alg)) {
        return { status: 'bad-signature', payload };
      }
      await jwtVerify(token, keys, {
        algorithms: JWT_ALGORITHMS,
        clockTolerance: JWT_CLOCK_SKEW_SECONDS,
        currentDate: new Date(now),
      });
    } catch (err) {
      return { status: statusOf(err), payload };
    }
    const expMs =
      typeof payload.exp === 'number'
        ? (payload.exp + JWT_CLOCK_SKEW_SECONDS) * 1000
        : Number.POSITIVE_INFINITY;
    if (this.#cache.size >= this.#cacheSize) {
      const oldest = this.#cache.keys().next();
      if (oldest.done !== true) this.#cache.delete(oldest.value);
    }
    this.#cache.set(token, { payload, until: Math.min(expMs, now + this.#cacheTtlMs) });
    return { status: 'ok', payload };
  }

  clearCache(): void {
    this.#cache.clear();
  }
}
