import { describe, expect, it } from 'vitest';
import { rawPa, rawRa } from './test-helpers.js';
import { validatePeerAuthentication } from './validate-peer-authn.js';
import { validateRequestAuthentication } from './validate-request-authn.js';

const summary = (ps: readonly { severity: string; code: string; path: string }[]) =>
  ps.map((p) => `${p.severity} ${p.code} ${p.path}`).sort();

describe('validatePeerAuthentication', () => {
  const cases: Array<{ name: string; spec: unknown; problems: string[] }> = [
    { name: 'namespace STRICT', spec: { mtls: { mode: 'STRICT' } }, problems: [] },
    { name: 'empty spec (UNSET)', spec: {}, problems: [] },
    { name: 'PERMISSIVE/DISABLE/UNSET accepted', spec: { mtls: { mode: 'DISABLE' } }, problems: [] },
    {
      name: 'bad mode',
      spec: { mtls: { mode: 'strict' } },
      problems: ['error WEFT_POLICY_BAD_VALUE spec.mtls.mode'],
    },
    {
      name: 'unknown mtls field',
      spec: { mtls: { mode: 'STRICT', level: 1 } },
      problems: ['error WEFT_POLICY_UNKNOWN_FIELD spec.mtls.level'],
    },
    {
      name: 'portLevelMtls with selector',
      spec: {
        selector: { matchLabels: { app: 'a' } },
        mtls: { mode: 'STRICT' },
        portLevelMtls: { 8080: { mode: 'PERMISSIVE' } },
      },
      problems: [],
    },
    {
      name: 'portLevelMtls without selector',
      spec: { portLevelMtls: { 8080: { mode: 'PERMISSIVE' } } },
      problems: ['error WEFT_POLICY_CONFLICT spec.portLevelMtls'],
    },
    {
      name: 'portLevelMtls bad port',
      spec: {
        selector: { matchLabels: { app: 'a' } },
        portLevelMtls: { http: { mode: 'STRICT' }, 0: { mode: 'STRICT' } },
      },
      problems: [
        'error WEFT_POLICY_BAD_PORT spec.portLevelMtls[0]',
        'error WEFT_POLICY_BAD_PORT spec.portLevelMtls[http]',
      ],
    },
    {
      name: 'portLevelMtls bad mode',
      spec: { selector: { matchLabels: { app: 'a' } }, portLevelMtls: { 9000: { mode: 'ON' } } },
      problems: ['error WEFT_POLICY_BAD_VALUE spec.portLevelMtls[9000].mode'],
    },
    {
      name: 'empty portLevelMtls',
      spec: { selector: { matchLabels: { app: 'a' } }, portLevelMtls: {} },
      problems: ['error WEFT_POLICY_MISSING_FIELD spec.portLevelMtls'],
    },
    {
      name: 'portLevelMtls port 0 is out of range',
      spec: { selector: { matchLabels: { app: 'a' } }, portLevelMtls: { 0: { mode: 'STRICT' } } },
      problems: ['error WEFT_POLICY_BAD_PORT spec.portLevelMtls[0]'],
    },
    {
      name: 'targetRef is not a PeerAuthentication field',
      spec: { targetRef: { kind: 'Service', name: 'x' } },
      problems: ['error WEFT_POLICY_UNKNOWN_FIELD spec.targetRef'],
    },
  ];
  it.each(cases)('$name', ({ spec, problems }) => {
    const r = validatePeerAuthentication(rawPa(spec));
    expect(summary(r.problems)).toEqual(problems.sort());
    expect(r.ok).toBe(problems.length === 0);
  });

  it('normalizes ports to numbers', () => {
    const r = validatePeerAuthentication(
      rawPa({ selector: { matchLabels: { app: 'a' } }, portLevelMtls: { '8080': { mode: 'DISABLE' } } }),
    );
    expect(r.value?.mode).toBe('UNSET');
    expect([...(r.value?.portLevelMtls ?? [])]).toEqual([[8080, 'DISABLE']]);
  });
});

const JWKS =
  '{"keys":[{"kty":"RSA","kid":"DHFbpoIUqrY8t2zpA2qXfCmr5VO5ZEr4RzHU_-envvQ","e":"AQAB","n":"xAE7eB6q"}]}';

describe('validateRequestAuthentication', () => {
  const rule = (r: object) => ({ jwtRules: [{ issuer: 'testing@secure.istio.io', ...r }] });
  const cases: Array<{ name: string; spec: unknown; problems: string[] }> = [
    { name: 'inline jwks', spec: rule({ jwks: JWKS }), problems: [] },
    {
      name: 'jwksUri',
      spec: rule({
        jwksUri:
          'https://raw.githubusercontent.com/istio/istio/release-1.24/security/tools/jwt/samples/jwks.json',
      }),
      problems: [],
    },
    {
      name: 'every field',
      spec: {
        selector: { matchLabels: { app: 'details' } },
        jwtRules: [
          {
            issuer: 'i',
            audiences: ['a'],
            jwks: JWKS,
            fromHeaders: [{ name: 'x-jwt', prefix: 'Bearer ' }],
            fromParams: ['t'],
            fromCookies: ['session'],
            outputPayloadToHeader: 'x-payload',
            forwardOriginalToken: true,
            outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }],
            timeout: '5s',
          },
        ],
      },
      problems: [],
    },
    {
      name: 'missing issuer',
      spec: { jwtRules: [{ jwks: JWKS }] },
      problems: ['error WEFT_POLICY_MISSING_FIELD spec.jwtRules[0].issuer'],
    },
    {
      name: 'jwksUri without issuer is fine (any issuer)',
      spec: { jwtRules: [{ jwksUri: 'https://idp.example.com/jwks' }] },
      problems: [],
    },
    {
      name: 'empty audience',
      spec: { jwtRules: [{ issuer: 'i', audiences: [''] }] },
      problems: ['error WEFT_POLICY_BAD_VALUE spec.jwtRules[0].audiences[0]'],
    },
    {
      name: 'jwksUri not http',
      spec: rule({ jwksUri: 'file:///etc/jwks' }),
      problems: ['error WEFT_POLICY_BAD_JWT_RULE spec.jwtRules[0].jwksUri'],
    },
    {
      name: 'jwks not a key set',
      spec: rule({ jwks: '{"kty":"RSA"}' }),
      problems: ['error WEFT_POLICY_BAD_JWT_RULE spec.jwtRules[0].jwks'],
    },
    {
      name: 'jwks not JSON',
      spec: rule({ jwks: 'nope' }),
      problems: ['error WEFT_POLICY_BAD_JWT_RULE spec.jwtRules[0].jwks'],
    },
    {
      name: 'fromHeaders without name',
      spec: rule({ fromHeaders: [{ prefix: 'x' }] }),
      problems: ['error WEFT_POLICY_MISSING_FIELD spec.jwtRules[0].fromHeaders[0].name'],
    },
    {
      name: 'fromHeaders bad name',
      spec: rule({ fromHeaders: [{ name: 'x jwt' }] }),
      problems: ['error WEFT_POLICY_BAD_JWT_RULE spec.jwtRules[0].fromHeaders[0].name'],
    },
    {
      name: 'outputClaimToHeaders missing claim',
      spec: rule({ outputClaimToHeaders: [{ header: 'x-a' }] }),
      problems: ['error WEFT_POLICY_MISSING_FIELD spec.jwtRules[0].outputClaimToHeaders[0].claim'],
    },
    {
      name: 'bad timeout',
      spec: rule({ timeout: '5 seconds' }),
      problems: ['error WEFT_POLICY_BAD_JWT_RULE spec.jwtRules[0].timeout'],
    },
    {
      name: 'forwardOriginalToken not bool',
      spec: rule({ forwardOriginalToken: 'yes' }),
      problems: ['error WEFT_POLICY_BAD_TYPE spec.jwtRules[0].forwardOriginalToken'],
    },
    {
      name: 'unknown rule field (snake case)',
      spec: rule({ jwks_uri: 'https://x' }),
      problems: ['error WEFT_POLICY_UNKNOWN_FIELD spec.jwtRules[0].jwks_uri'],
    },
    {
      name: 'targetRef Gateway',
      spec: {
        targetRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'waypoint' },
        ...rule({ jwks: JWKS }),
      },
      problems: [],
    },
    {
      name: 'selector and targetRefs',
      spec: {
        selector: { matchLabels: { a: 'b' } },
        targetRefs: [{ group: '', kind: 'Service', name: 's' }],
      },
      problems: ['error WEFT_POLICY_CONFLICT spec.selector'],
    },
  ];
  it.each(cases)('$name', ({ spec, problems }) => {
    const r = validateRequestAuthentication(rawRa(spec));
    expect(summary(r.problems)).toEqual(problems.sort());
    expect(r.ok).toBe(problems.length === 0);
  });

  it('normalizes header names and timeout', () => {
    const r = validateRequestAuthentication(
      rawRa(rule({ fromHeaders: [{ name: 'X-Jwt' }], timeout: '1.5s' })),
    );
    expect(r.value?.jwtRules[0]).toMatchObject({
      fromHeaders: [{ name: 'x-jwt', prefix: '' }],
      timeoutMs: 1500,
      forwardOriginalToken: false,
    });
  });
});
