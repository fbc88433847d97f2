import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate.js';
import { compileJwtRules, extractJwtTokens, isCorsPreflight, jwtOutcome, type VerifiedToken } from './jwt.js';
import { cap, ra } from './test-helpers.js';

const ISS = 'testing@secure.istio.io';
const NOW = 1_800_000_000;
const JWKS = '{"keys":[]}';
const providers = compileJwtRules([
  ra(
    {
      jwtRules: [
        { issuer: ISS, jwks: JWKS },
        {
          issuer: 'https://accounts.example.com',
          audiences: ['bookinfo.com'],
          jwks: JWKS,
          fromHeaders: [{ name: 'x-jwt-assertion' }],
          outputClaimToHeaders: [
            { header: 'x-sub', claim: 'sub' },
            { header: 'x-admin', claim: 'admin' },
          ],
          outputPayloadToHeader: 'x-jwt-payload',
          forwardOriginalToken: true,
        },
      ],
    },
    { name: 'jwt' },
  ),
]);
const token = (payload: Record<string, unknown>, status: VerifiedToken['status'] = 'ok'): VerifiedToken => ({
  token: `h.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.s`,
  location: { kind: 'header', name: 'authorization' },
  status,
  payload,
});

describe('compileJwtRules', () => {
  it('applies Istio defaults only when no location is set', () => {
    expect(providers[0]).toMatchObject({
      issuer: ISS,
      fromHeaders: [{ name: 'authorization', prefix: 'Bearer ' }],
      fromParams: ['access_token'],
      fromCookies: [],
      forwardOriginalToken: false,
      source: 'prod/jwt',
      ruleIndex: 0,
    });
    expect(providers[1]).toMatchObject({
      fromHeaders: [{ name: 'x-jwt-assertion', prefix: '' }],
      fromParams: [],
      ruleIndex: 1,
    });
  });
});

describe('extractJwtTokens', () => {
  const cases = [
    { name: 'Authorization: Bearer', parts: { headers: { authorization: 'Bearer abc' } }, tokens: ['abc'] },
    {
      name: 'bearer prefix is case-insensitive',
      parts: { headers: { authorization: 'bearer abc' } },
      tokens: ['abc'],
    },
    {
      name: 'Basic auth is not a token',
      parts: { headers: { authorization: 'Basic dXNlcg==' } },
      tokens: [],
    },
    { name: 'access_token query param', parts: { query: '?access_token=q1&x=2' }, tokens: ['q1'] },
    { name: 'custom header without prefix', parts: { headers: { 'x-jwt-assertion': 'h1' } }, tokens: ['h1'] },
    {
      name: 'same token twice counted once',
      parts: { headers: { authorization: 'Bearer t' }, query: 'access_token=t' },
      tokens: ['t'],
    },
    { name: 'nothing', parts: {}, tokens: [] },
  ];
  it.each(cases)('$name', ({ parts, tokens }) => {
    expect(extractJwtTokens(providers, parts).map((t) => t.token)).toEqual(tokens);
  });

  it('reads cookies from the cookie header', () => {
    const p = compileJwtRules([ra({ jwtRules: [{ issuer: 'i', fromCookies: ['session'] }] })]);
    expect(extractJwtTokens(p, { headers: { cookie: 'a=1; session=tok; b=2' } })).toEqual([
      { token: 'tok', location: { kind: 'cookie', name: 'session' } },
    ]);
  });
});

describe('jwtOutcome (Istio/Envoy semantics)', () => {
  const cases: Array<{
    name: string;
    tokens: VerifiedToken[];
    kind: string;
    status?: number;
    message?: string;
  }> = [
    { name: 'no token → passes unauthenticated', tokens: [], kind: 'unauthenticated' },
    { name: 'valid token', tokens: [token({ iss: ISS, sub: ISS, exp: NOW + 100 })], kind: 'authenticated' },
    {
      name: 'expired → 401',
      tokens: [token({ iss: ISS, sub: 's', exp: NOW - 61 })],
      kind: 'denied',
      status: 401,
      message: 'Jwt is expired',
    },
    {
      name: 'expired within 60 s skew → ok',
      tokens: [token({ iss: ISS, sub: 's', exp: NOW - 59 })],
      kind: 'authenticated',
    },
    {
      name: 'nbf in the future → 401',
      tokens: [token({ iss: ISS, sub: 's', nbf: NOW + 120 })],
      kind: 'denied',
      status: 401,
      message: 'Jwt not yet valid',
    },
    {
      name: 'malformed ("badtoken") → 401',
      tokens: [{ token: 'badtoken', status: 'malformed' }],
      kind: 'denied',
      status: 401,
      message: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections',
    },
    {
      name: 'unknown issuer → 401',
      tokens: [token({ iss: 'evil', sub: 's' })],
      kind: 'denied',
      status: 401,
      message: 'Jwt issuer is not configured',
    },
    {
      name: 'bad signature → 401',
      tokens: [token({ iss: ISS, sub: 's' }, 'bad-signature')],
      kind: 'denied',
      status: 401,
      message: 'Jwt verification fails',
    },
    {
      name: 'unknown kid → 401',
      tokens: [token({ iss: ISS, sub: 's' }, 'unknown-kid')],
      kind: 'denied',
      status: 401,
      message: "Jwks doesn't have key to match kid or alg from Jwt",
    },
    {
      name: 'JWKS unreachable → 401',
      tokens: [token({ iss: ISS, sub: 's' }, 'jwks-unavailable')],
      kind: 'denied',
      status: 401,
      message: 'Jwks remote fetch is failed',
    },
    {
      name: 'wrong audience → 403',
      tokens: [token({ iss: 'https://accounts.example.com', sub: 's', aud: 'other.com' })],
      kind: 'denied',
      status: 403,
      message: 'Audiences in Jwt are not allowed',
    },
    {
      name: 'audience list, one allowed',
      tokens: [token({ iss: 'https://accounts.example.com', sub: 's', aud: ['x', 'bookinfo.com'] })],
      kind: 'authenticated',
    },
    {
      name: 'audience with scheme normalized',
      tokens: [token({ iss: 'https://accounts.example.com', sub: 's', aud: 'https://bookinfo.com/' })],
      kind: 'authenticated',
    },
    {
      name: 'expiry checked before signature (Envoy order)',
      tokens: [token({ iss: ISS, sub: 's', exp: NOW - 1000 }, 'bad-signature')],
      kind: 'denied',
      status: 401,
      message: 'Jwt is expired',
    },
    {
      name: 'every token must pass',
      tokens: [token({ iss: ISS, sub: 's' }), token({ iss: ISS, sub: 't', exp: NOW - 100 })],
      kind: 'denied',
      status: 401,
      message: 'Jwt is expired',
    },
  ];
  it.each(cases)('$name', ({ tokens, kind, status, message }) => {
    const o = jwtOutcome(providers, tokens, { nowSeconds: NOW, realm: 'http://details:9080/details/1' });
    expect(o.kind).toBe(kind);
    if (o.kind === 'denied') {
      expect(o.status).toBe(status);
      expect(o.message).toBe(message);
      expect(o.wwwAuthenticate).toBe('Bearer realm="http://details:9080/details/1", error="invalid_token"');
    }
  });

  it('authenticated: principal iss/sub, audiences, presenter, claims, output headers, token removal', () => {
    const t = token({ iss: ISS, sub: 'alice', aud: 'a', azp: 'cli', groups: ['g1'] });
    const o = jwtOutcome(providers, [t], { nowSeconds: NOW });
    expect(o).toMatchObject({
      kind: 'authenticated',
      auth: { principal: `${ISS}/alice`, audiences: ['a'], presenter: 'cli', claims: { groups: ['g1'] } },
      setHeaders: [],
      removeLocations: [{ kind: 'header', name: 'authorization' }],
    });
    const t2 = {
      ...token({ iss: 'https://accounts.example.com', sub: 'bob', aud: 'bookinfo.com', admin: true }),
      location: { kind: 'header' as const, name: 'x-jwt-assertion' },
    };
    const o2 = jwtOutcome(providers, [t2], { nowSeconds: NOW });
    expect(o2.kind === 'authenticated' && o2.setHeaders).toEqual([
      { name: 'x-jwt-payload', value: t2.token.split('.')[1] },
      { name: 'x-sub', value: 'bob' },
      { name: 'x-admin', value: 'true' },
    ]);
    expect(o2.kind === 'authenticated' && o2.removeLocations).toEqual([]);
  });

  it('feeds request.auth into authorization: require JWT end to end', () => {
    const requireJwt = cap({ rules: [{ from: [{ source: { requestPrincipals: [`${ISS}/${ISS}`] } }] }] });
    const o = jwtOutcome(providers, [token({ iss: ISS, sub: ISS })], { nowSeconds: NOW });
    const auth = o.kind === 'authenticated' ? o.auth : undefined;
    const req = { http: { method: 'GET', path: '/details/1' }, ...(auth === undefined ? {} : { auth }) };
    expect(evaluate([requireJwt], req).allowed).toBe(true);
    expect(evaluate([requireJwt], { http: { method: 'GET', path: '/details/1' } }).allowed).toBe(false);
  });

  it('a provider without issuer (jwksUri only) accepts any issuer', () => {
    const anyIss = compileJwtRules([ra({ jwtRules: [{ jwksUri: 'https://idp.example.com/jwks' }] })]);
    const o = jwtOutcome(anyIss, [token({ iss: 'whoever', sub: 's' })], { nowSeconds: NOW });
    expect(o.kind === 'authenticated' && o.auth.principal).toBe('whoever/s');
  });

  it('CORS preflight is recognised', () => {
    expect(isCorsPreflight('OPTIONS', { origin: 'https://a', 'access-control-request-method': 'POST' })).toBe(
      true,
    );
    expect(isCorsPreflight('OPTIONS', { origin: 'https://a' })).toBe(false);
    expect(isCorsPreflight('GET', { origin: 'https://a', 'access-control-request-method': 'POST' })).toBe(
      false,
    );
  });
});
