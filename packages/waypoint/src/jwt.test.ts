import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TestCa } from '@weft/testkit';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpFetcher } from './jwks.js';
import { config, type Harness, harness, NS } from './test-fixtures.js';

const ISS = 'https://issuer.weft.test';
type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      method,
      headers: { host: 'payments', ...headers },
      agent: false,
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function token(
  key: Key,
  kid: string,
  claims: Record<string, unknown> = {},
  alg = 'RS256',
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'alice', aud: 'payments', iat: now, exp: now + 600, ...claims })
    .setProtectedHeader({ alg, kid })
    .setIssuer(typeof claims.iss === 'string' ? claims.iss : ISS)
    .sign(key);
}

function requestAuthn(rule: Record<string, unknown>): ReturnType<typeof config> {
  return config({
    apiVersion: 'security.istio.io/v1',
    kind: 'RequestAuthentication',
    metadata: { name: 'jwt', namespace: NS },
    spec: {
      targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }],
      jwtRules: [{ issuer: ISS, audiences: ['payments'], ...rule }],
    },
  });
}

const requireJwt = config({
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name: 'require-jwt', namespace: NS },
  spec: {
    targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }],
    rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }],
  },
});

let backend: Server;
let backendPort: number;
let key: Key;
let jwk: JWK;
let otherKey: Key;

beforeAll(async () => {
  backend = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(req.headers));
  });
  backend.listen(0, '127.0.0.1');
  await once(backend, 'listening');
  backendPort = (backend.address() as AddressInfo).port;
  const pair = await generateKeyPair('RS256');
  key = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  otherKey = (await generateKeyPair('RS256')).privateKey;
});

afterAll(() => backend.close());

describe('RequestAuthentication with an inline JWKS', () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    h = await harness(backendPort, {
      configs: [
        requestAuthn({
          jwks: JSON.stringify({ keys: [jwk] }),
          outputClaimToHeaders: [{ header: 'x-jwt-sub', claim: 'sub' }],
        }),
      ],
    });
    port = await h.frontDoor();
  });
  afterAll(() => h.close());

  it('valid 200, expired 401, wrong audience 403, bad signature 401, unknown kid 401, missing 200', async () => {
    const valid = await send(port, '/', { authorization: `Bearer ${await token(key, 'k1')}` });
    expect(valid.status).toBe(200);
    const seen = JSON.parse(valid.body) as Record<string, string>;
    expect(seen['x-jwt-sub']).toBe('alice');
    expect(seen.authorization).toBeUndefined(); // forwardOriginalToken defaults to false

    const expired = await send(port, '/', {
      authorization: `Bearer ${await token(key, 'k1', { exp: Math.floor(Date.now() / 1000) - 120 })}`,
    });
    expect(expired.status).toBe(401);
    expect(expired.body).toBe('Jwt is expired');
    expect(expired.headers['www-authenticate']).toMatch(
      /^Bearer realm="http:\/\/payments\/", error="invalid_token"$/,
    );

    const aud = await send(port, '/', {
      authorization: `Bearer ${await token(key, 'k1', { aud: 'someone-else' })}`,
    });
    expect(aud.status).toBe(403);
    expect(aud.body).toBe('Audiences in Jwt are not allowed');

    const badSig = await send(port, '/', { authorization: `Bearer ${await token(otherKey, 'k1')}` });
    expect(badSig.status).toBe(401);
    expect(badSig.body).toBe('Jwt verification fails');

    const kid = await send(port, '/', { authorization: `Bearer ${await token(key, 'nope')}` });
    expect(kid.status).toBe(401);

    expect((await send(port, '/')).status).toBe(200);
  });

  it('within the 60 s skew an expired token still passes', async () => {
    const r = await send(port, '/', {
      authorization: `Bearer ${await token(key, 'k1', { exp: Math.floor(Date.now() / 1000) - 30 })}`,
    });
    expect(r.status).toBe(200);
  });

  it('reads the token from ?access_token= too', async () => {
    expect((await send(port, `/?access_token=${await token(key, 'k1')}`)).status).toBe(200);
    expect((await send(port, `/?access_token=${await token(otherKey, 'k1')}`)).status).toBe(401);
  });

  it('refuses alg none, malformed and huge tokens with 401, unknown issuer with 401', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', kid: 'k1' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ iss: ISS, sub: 'x', aud: 'payments' })).toString(
      'base64url',
    );
    expect((await send(port, '/', { authorization: `Bearer ${header}.${payload}.` })).status).toBe(401);
    const malformed = await send(port, '/', { authorization: 'Bearer not-a-jwt' });
    expect(malformed.status).toBe(401);
    expect(malformed.body).toBe(
      'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections',
    );
    const huge = await token(key, 'k1', { blob: 'x'.repeat(30_000) });
    expect((await send(port, '/', { authorization: `Bearer ${huge}` })).status).toBe(401);
    const unknownIss = await send(port, '/', {
      authorization: `Bearer ${await token(key, 'k1', { iss: 'https://evil' })}`,
    });
    expect(unknownIss.status).toBe(401);
    expect(unknownIss.body).toBe('Jwt issuer is not configured');
    expect((await send(port, '/')).status).toBe(200);
  });

  it('lets a CORS preflight through without checking the token', async () => {
    const r = await send(
      port,
      '/',
      { origin: 'https://app', 'access-control-request-method': 'POST', authorization: 'Bearer junk' },
      'OPTIONS',
    );
    expect(r.status).toBe(200);
  });

  it('missing token → 403 once an AuthorizationPolicy requires requestPrincipals ["*"]', async () => {
    h.view.update({ configs: [...h.view.configs.values(), requireJwt] });
    const missing = await send(port, '/');
    expect(missing.status).toBe(403);
    expect(missing.body).toBe('RBAC: access denied');
    expect((await send(port, '/', { authorization: `Bearer ${await token(key, 'k1')}` })).status).toBe(200);
  });
});

describe('RequestAuthentication token locations and outputs', () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    h = await harness(backendPort, {
      configs: [
        requestAuthn({
          jwks: JSON.stringify({ keys: [jwk] }),
          fromHeaders: [{ name: 'x-jwt', prefix: 'Token ' }],
          fromCookies: ['session'],
          forwardOriginalToken: true,
          outputPayloadToHeader: 'x-jwt-payload',
        }),
      ],
    });
    port = await h.frontDoor();
  });
  afterAll(() => h.close());

  it('reads a custom header with its prefix, forwards it, and outputs the payload', async () => {
    const t = await token(key, 'k1');
    const r = await send(port, '/', { 'x-jwt': `Token ${t}` });
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body) as Record<string, string>;
    expect(seen['x-jwt']).toBe(`Token ${t}`);
    expect(JSON.parse(Buffer.from(seen['x-jwt-payload'] ?? '', 'base64url').toString())).toMatchObject({
      sub: 'alice',
      iss: ISS,
    });
  });

  it('reads a cookie; the default Authorization header is no longer a location', async () => {
    expect((await send(port, '/', { cookie: `a=b; session=${await token(otherKey, 'k1')}` })).status).toBe(
      401,
    );
    expect((await send(port, '/', { cookie: `session=${await token(key, 'k1')}` })).status).toBe(200);
    expect((await send(port, '/', { authorization: 'Bearer junk' })).status).toBe(200);
  });
});

describe('RequestAuthentication with a jwksUri', () => {
  let ca: TestCa;
  let jwksServer: HttpsServer;
  let jwksPort: number;
  let served: () => string;
  let fetches = 0;
  let h: Harness;
  let port: number;

  beforeAll(async () => {
    ca = await TestCa.create();
    const cert = await ca.issue({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usages: ['server'] });
    served = () => JSON.stringify({ keys: [jwk] });
    jwksServer = createHttpsServer({ cert: cert.chainPem, key: cert.keyPem }, (_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(served());
    });
    jwksServer.listen(0, '127.0.0.1');
    await once(jwksServer, 'listening');
    jwksPort = (jwksServer.address() as AddressInfo).port;
    h = await harness(backendPort, {
      configs: [requestAuthn({ jwksUri: `https://127.0.0.1:${jwksPort}/jwks.json` })],
      waypoint: { jwksFetcher: httpFetcher({ ca: ca.rootPem }) },
    });
    port = await h.frontDoor();
  });
  afterAll(() => {
    h.close();
    jwksServer.close();
  });

  it('fetches the keys over HTTPS and caches verified tokens', async () => {
    const t = await token(key, 'k1');
    expect((await send(port, '/', { authorization: `Bearer ${t}` })).status).toBe(200);
    const before = fetches;
    for (let i = 0; i < 5; i++)
      expect((await send(port, '/', { authorization: `Bearer ${t}` })).status).toBe(200);
    expect(fetches).toBe(before);
  });

  it('keeps the last good key set when the endpoint returns garbage or goes down', async () => {
    served = () => 'this is not json';
    // An unknown kid triggers a refresh (which fails): that token is refused, the known key still works.
    expect(
      (await send(port, '/', { authorization: `Bearer ${await token(key, 'unknown-kid')}` })).status,
    ).toBe(401);
    expect(
      (await send(port, '/', { authorization: `Bearer ${await token(key, 'k1', { n: 1 })}` })).status,
    ).toBe(200);
    jwksServer.closeAllConnections();
    expect(
      (await send(port, '/', { authorization: `Bearer ${await token(key, 'k1', { n: 2 })}` })).status,
    ).toBe(200);
  });

  it('answers 401 "Jwks remote fetch is failed" when no key set could ever be fetched', async () => {
    const h2 = await harness(backendPort, {
      configs: [requestAuthn({ jwksUri: 'https://127.0.0.1:1/jwks.json', timeout: '1s' })],
      waypoint: { jwksFetcher: httpFetcher({ ca: ca.rootPem }) },
    });
    const p = await h2.frontDoor();
    const r = await send(p, '/', { authorization: `Bearer ${await token(key, 'k1')}` });
    expect(r.status).toBe(401);
    expect(r.body).toBe('Jwks remote fetch is failed');
    expect((await send(p, '/')).status).toBe(200);
    await h2.close();
  });
});
