/**
 * The demo's JWT issuer: one ES256 key made at `demo up` (kept in the state directory, never in the
 * repository), its JWKS (put inline in the tour's RequestAuthentication), and tokens of three kinds.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { DemoError, DemoErrorCode } from './errors.js';

export const DEMO_ISSUER = 'https://auth.weft-demo.local';
export const DEMO_AUDIENCE = 'payments.prod.svc.cluster.local';
export const DEMO_SUBJECT = 'alice';
export const TOKEN_KINDS = ['valid', 'expired', 'wrong-aud'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/** A fresh P-256 private key as PKCS#8 PEM. */
export function createDemoKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function keyOf(pem: string): KeyObject {
  return createPrivateKey(pem);
}

/** Key id: a short stable name derived from the public key. */
function kidOf(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  return `demo-${String(jwk.x).slice(0, 8)}`;
}

/** The JWKS (public part only) as a JSON string, as RequestAuthentication's `jwks` wants it. */
export function jwksOf(pem: string): string {
  const key = keyOf(pem);
  const { kty, crv, x, y } = key.export({ format: 'jwk' });
  return JSON.stringify({ keys: [{ kty, crv, x, y, kid: kidOf(key), alg: 'ES256', use: 'sig' }] });
}

export function isTokenKind(kind: string): kind is TokenKind {
  return (TOKEN_KINDS as readonly string[]).includes(kind);
}

/** Signs a token of `kind` at time `nowSeconds`: valid for an hour / expired an hour ago / other audience. */
export function signToken(pem: string, kind: string, nowSeconds = Math.floor(Date.now() / 1000)): string {
  if (!isTokenKind(kind))
    throw new DemoError(DemoErrorCode.Unknown, `no token kind ${kind}; use one of ${TOKEN_KINDS.join(', ')}`);
  const key = keyOf(pem);
  const header = { alg: 'ES256', typ: 'JWT', kid: kidOf(key) };
  const iat = kind === 'expired' ? nowSeconds - 7200 : nowSeconds;
  const payload = {
    iss: DEMO_ISSUER,
    sub: DEMO_SUBJECT,
    aud: kind === 'wrong-aud' ? 'someone-else.example' : DEMO_AUDIENCE,
    iat,
    nbf: iat,
    exp: iat + 3600,
    groups: ['demo'],
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}
