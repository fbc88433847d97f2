/**
 * RequestAuthentication for the waypoint: the normalized provider list, where tokens come from, and
 * the outcome of the tokens the waypoint verified (it does the crypto; this decides, in Envoy's
 * jwt_authn order: format → issuer → exp/nbf (60 s skew) → audiences → keys/signature).
 */
import type { AuthAttributes } from './attributes.js';
import type { JwtHeaderLocation, JwtRule, RequestAuthentication } from './types.js';

/** A validated jwtRule with Istio's defaults applied (`Authorization: Bearer <t>` and `?access_token=`
 * when no location is set), and where it came from. */
export interface JwtProvider extends JwtRule {
  /** `namespace/name` of the RequestAuthentication and the rule index. */
  readonly source: string;
  readonly ruleIndex: number;
}

export const DEFAULT_JWT_HEADER: JwtHeaderLocation = { name: 'authorization', prefix: 'Bearer ' };
export const DEFAULT_JWT_PARAM = 'access_token';
export const JWT_CLOCK_SKEW_SECONDS = 60;

/** Envoy's messages, which Istio users see in 401/403 bodies. */
export const JwtMessage = {
  Missing: 'Jwt is missing',
  BadFormat: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections',
  UnknownIssuer: 'Jwt issuer is not configured',
  Expired: 'Jwt is expired',
  NotYetValid: 'Jwt not yet valid',
  AudienceNotAllowed: 'Audiences in Jwt are not allowed',
  KidAlgMismatch: "Jwks doesn't have key to match kid or alg from Jwt",
  JwksFetchFailed: 'Jwks remote fetch is failed',
  VerificationFails: 'Jwt verification fails',
} as const;

function withDefaults(r: JwtRule, source: string, ruleIndex: number): JwtProvider {
  const none = r.fromHeaders.length + r.fromParams.length + r.fromCookies.length === 0;
  return {
    ...r,
    fromHeaders: none ? [DEFAULT_JWT_HEADER] : r.fromHeaders,
    fromParams: none ? [DEFAULT_JWT_PARAM] : r.fromParams,
    source,
    ruleIndex,
  };
}

/** Flattens RequestAuthentications (in the given order) into providers with defaults applied. */
export function compileJwtRules(policies: readonly RequestAuthentication[]): JwtProvider[] {
  const out: JwtProvider[] = [];
  for (const p of policies)
    p.jwtRules.forEach((r, i) => {
      out.push(withDefaults(r, `${p.namespace}/${p.name}`, i));
    });
  return out;
}

export interface TokenLocation {
  readonly kind: 'header' | 'param' | 'cookie';
  /** Header names lower-case. */
  readonly name: string;
}

export interface ExtractedToken {
  readonly token: string;
  readonly location: TokenLocation;
}

export interface JwtRequestParts {
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The query string (with or without `?`) or parsed params. */
  readonly query?: string | URLSearchParams;
  /** Parsed cookies; when absent they are read from the `cookie` header. */
  readonly cookies?: Readonly<Record<string, string>>;
}

function cookiesOf(parts: JwtRequestParts): Readonly<Record<string, string>> {
  if (parts.cookies !== undefined) return parts.cookies;
  const raw = parts.headers?.cookie;
  const text = raw === undefined ? '' : typeof raw === 'string' ? raw : raw.join('; ');
  const out: Record<string, string> = {};
  for (const pair of text.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

/** Every distinct token found in any provider's locations, in provider order. */
export function extractJwtTokens(
  providers: readonly JwtProvider[],
  parts: JwtRequestParts,
): ExtractedToken[] {
  const out: ExtractedToken[] = [];
  const seen = new Set<string>();
  const add = (token: string, location: TokenLocation) => {
    if (token === '' || seen.has(token)) return;
    seen.add(token);
    out.push({ token, location });
  };
  const params =
    parts.query === undefined
      ? undefined
      : typeof parts.query === 'string'
        ? new URLSearchParams(parts.query)
        : parts.query;
  let cookies: Readonly<Record<string, string>> | undefined;
  for (const p of providers) {
    for (const h of p.fromHeaders) {
      const raw = parts.headers?.[h.name];
      for (const v of raw === undefined ? [] : typeof raw === 'string' ? [raw] : raw) {
        if (h.prefix === '') add(v.trim(), { kind: 'header', name: h.name });
        else if (v.toLowerCase().startsWith(h.prefix.toLowerCase())) {
          add(v.slice(h.prefix.length).trim(), { kind: 'header', name: h.name });
        }
      }
    }
    for (const name of p.fromParams)
      for (const v of params?.getAll(name) ?? []) add(v, { kind: 'param', name });
    if (p.fromCookies.length > 0) {
      cookies ??= cookiesOf(parts);
      for (const name of p.fromCookies) {
        const v = cookies[name];
        if (v !== undefined) add(v, { kind: 'cookie', name });
      }
    }
  }
  return out;
}

/** What the waypoint's crypto found for one token. */
export interface VerifiedToken {
  readonly token: string;
  readonly location?: TokenLocation;
  /**
   * `ok`: signature verified with the issuer's JWKS. `malformed`: not three base64url JSON parts.
   * `unknown-kid`: no key for kid/alg. `jwks-unavailable`: JWKS could not be fetched.
   * `bad-signature`: verification failed. Time and audience are checked here, not by the caller.
   */
  readonly status: 'ok' | 'malformed' | 'unknown-kid' | 'jwks-unavailable' | 'bad-signature';
  /** The decoded payload (needed for every status except `malformed`). */
  readonly payload?: Readonly<Record<string, unknown>>;
}

export type JwtOutcome =
  | { readonly kind: 'unauthenticated' }
  | {
      readonly kind: 'denied';
      readonly status: 401 | 403;
      readonly message: string;
      /** The WWW-Authenticate challenge to send. */
      readonly wwwAuthenticate: string;
      readonly issuer?: string;
    }
  | {
      readonly kind: 'authenticated';
      readonly auth: AuthAttributes;
      readonly provider: JwtProvider;
      /** Headers to set upstream (outputPayloadToHeader, outputClaimToHeaders). */
      readonly setHeaders: readonly { readonly name: string; readonly value: string }[];
      /** Headers/params to strip before forwarding (the token, unless forwardOriginalToken). */
      readonly removeLocations: readonly TokenLocation[];
    };

export interface JwtOutcomeOptions {
  readonly nowSeconds: number;
  readonly clockSkewSeconds?: number;
  /** The realm in WWW-Authenticate: Envoy uses the request URL (`http://host/path`). */
  readonly realm?: string;
}

function stringList(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

function normAudience(a: string): string {
  return a.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

function claimText(claims: Readonly<Record<string, unknown>>, name: string): string | undefined {
  let v: unknown = claims[name];
  if (v === undefined && name.includes('.')) {
    v = claims;
    for (const k of name.split('.'))
      v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function deny(status: 401 | 403, message: string, opts: JwtOutcomeOptions, issuer?: string): JwtOutcome {
  // Envoy's jwt_authn sets the challenge on every failure (401 and the audience 403), with the
  // request URL as realm and error="invalid_token" since a token was presented
  const wwwAuthenticate = `Bearer realm="${opts.realm ?? ''}", error="invalid_token"`;
  return issuer === undefined
    ? { kind: 'denied', status, message, wwwAuthenticate }
    : { kind: 'denied', status, message, wwwAuthenticate, issuer };
}

/** Checks one token; returns the failure or the provider it satisfied. */
function checkToken(
  providers: readonly JwtProvider[],
  t: VerifiedToken,
  opts: JwtOutcomeOptions,
): JwtOutcome | JwtProvider {
  if (t.status === 'malformed' || t.payload === undefined) return deny(401, JwtMessage.BadFormat, opts);
  const claims = t.payload;
  const iss = typeof claims.iss === 'string' ? claims.iss : '';
  // a provider without an issuer (jwksUri only) accepts any issuer, as in Envoy
  const provider = providers.find((p) => p.issuer === iss) ?? providers.find((p) => p.issuer === '');
  if (provider === undefined) return deny(401, JwtMessage.UnknownIssuer, opts);
  const skew = opts.clockSkewSeconds ?? JWT_CLOCK_SKEW_SECONDS;
  if (typeof claims.exp === 'number' && opts.nowSeconds > claims.exp + skew)
    return deny(401, JwtMessage.Expired, opts, iss);
  if (typeof claims.nbf === 'number' && claims.nbf > opts.nowSeconds + skew)
    return deny(401, JwtMessage.NotYetValid, opts, iss);
  if (provider.audiences.length > 0) {
    const allowed = new Set(provider.audiences.map(normAudience));
    if (!stringList(claims.aud).some((a) => allowed.has(normAudience(a)))) {
      return deny(403, JwtMessage.AudienceNotAllowed, opts, iss);
    }
  }
  if (t.status === 'unknown-kid') return deny(401, JwtMessage.KidAlgMismatch, opts, iss);
  if (t.status === 'jwks-unavailable') return deny(401, JwtMessage.JwksFetchFailed, opts, iss);
  if (t.status === 'bad-signature') return deny(401, JwtMessage.VerificationFails, opts, iss);
  return provider;
}

/**
 * The request's JWT outcome. No token: passes unauthenticated (an AuthorizationPolicy with
 * requestPrincipals is what requires one). Every token present must pass; the first one found
 * becomes request.auth.*.
 */
export function jwtOutcome(
  providers: readonly JwtProvider[],
  tokens: readonly VerifiedToken[],
  opts: JwtOutcomeOptions,
): JwtOutcome {
  if (tokens.length === 0 || providers.length === 0) return { kind: 'unauthenticated' };
  let first: { t: VerifiedToken; p: JwtProvider } | undefined;
  for (const t of tokens) {
    const r = checkToken(providers, t, opts);
    if ('kind' in r) return r;
    first ??= { t, p: r };
  }
  const { t, p } = first!;
  const claims = t.payload!;
  const iss = String(claims.iss);
  const sub = typeof claims.sub === 'string' ? claims.sub : '';
  const presenter = typeof claims.azp === 'string' ? claims.azp : undefined;
  const auth: AuthAttributes = {
    principal: `${iss}/${sub}`,
    audiences: stringList(claims.aud),
    ...(presenter === undefined ? {} : { presenter }),
    claims,
  };
  const setHeaders: { name: string; value: string }[] = [];
  if (p.outputPayloadToHeader !== undefined) {
    setHeaders.push({ name: p.outputPayloadToHeader, value: t.token.split('.')[1] ?? '' });
  }
  for (const c of p.outputClaimToHeaders) {
    const v = claimText(claims, c.claim);
    if (v !== undefined) setHeaders.push({ name: c.header, value: v });
  }
  const removeLocations: TokenLocation[] = [];
  if (!p.forwardOriginalToken) {
    for (const x of tokens)
      if (x.location !== undefined && x.location.kind === 'header') removeLocations.push(x.location);
  }
  return { kind: 'authenticated', auth, provider: p, setHeaders, removeLocations };
}

/** CORS preflight requests are not subject to JWT checks. */
export function isCorsPreflight(method: string | undefined, headers: JwtRequestParts['headers']): boolean {
  return (
    method === 'OPTIONS' &&
    headers?.origin !== undefined &&
    headers['access-control-request-method'] !== undefined
  );
}
