import { createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderJwtPolicy } from './apply.js';
import { createDemoKeyPem, DEMO_AUDIENCE, DEMO_ISSUER, jwksOf, signToken } from './tokens.js';

const pem = createDemoKeyPem();
const decode = (part: string) =>
  JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>;

function verifyWithJwks(token: string, jwks: string): boolean {
  const [h, p, sig] = token.split('.') as [string, string, string];
  const { keys } = JSON.parse(jwks) as { keys: Array<Record<string, string>> };
  const jwk = keys.find((k) => k.kid === decode(h).kid);
  if (jwk === undefined) return false;
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  return verify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(sig, 'base64url'),
  );
}

describe('demo JWT issuer', () => {
  const now = 1_800_000_000;

  it('signs ES256 tokens that verify against the published JWKS (public part only)', () => {
    const jwks = jwksOf(pem);
    expect(jwks).not.toContain('"d"');
    const token = signToken(pem, 'valid', now);
    expect(decode(token.split('.')[0] as string)).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    expect(verifyWithJwks(token, jwks)).toBe(true);
    expect(verifyWithJwks(signToken(createDemoKeyPem(), 'valid', now), jwks)).toBe(false);
  });

  it('makes valid, expired and wrong-audience tokens', () => {
    const valid = decode(signToken(pem, 'valid', now).split('.')[1] as string);
    expect(valid).toMatchObject({ iss: DEMO_ISSUER, aud: DEMO_AUDIENCE, sub: 'alice' });
    expect(valid.exp as number).toBeGreaterThan(now);
    const expired = decode(signToken(pem, 'expired', now).split('.')[1] as string);
    expect(expired.exp as number).toBeLessThan(now - 60);
    const wrong = decode(signToken(pem, 'wrong-aud', now).split('.')[1] as string);
    expect(wrong.aud).not.toBe(DEMO_AUDIENCE);
    expect((wrong.exp as number) > now).toBe(true);
    expect(() => signToken(pem, 'forged')).toThrow(/valid, expired, wrong-aud/);
  });

  it('fills the RequestAuthentication template with the JWKS', () => {
    const out = renderJwtPolicy(
      'spec:\n  jwtRules:\n    - issuer: x\n      jwks: "placeholder"\n',
      jwksOf(pem),
    );
    expect(out).not.toContain('placeholder');
    expect(out).toContain(`jwks: '${jwksOf(pem)}'`);
    expect((parse(out) as { spec: { jwtRules: Array<{ jwks: string }> } }).spec.jwtRules[0]?.jwks).toBe(
      jwksOf(pem),
    );
  });
});
