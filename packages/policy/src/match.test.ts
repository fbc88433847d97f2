import { describe, expect, it } from 'vitest';
import type { RequestAttributes } from './attributes.js';
import { evaluate } from './evaluate.js';
import { cap } from './test-helpers.js';

const ORDERS = 'cluster.local/ns/prod/sa/orders';
const mtls = (principal: string | undefined, extra: Partial<RequestAttributes> = {}): RequestAttributes => ({
  ...(principal === undefined ? {} : { sourcePrincipal: principal }),
  sourceIp: '10.0.0.5',
  destinationIp: '10.0.1.7',
  destinationPort: 8080,
  ...extra,
});
const http = (
  principal: string | undefined,
  method: string,
  path: string,
  extra: Partial<RequestAttributes> = {},
): RequestAttributes =>
  mtls(principal, {
    http: { method, path, host: 'payments.prod.svc.cluster.local:8080', headers: {} },
    ...extra,
  });

interface Case {
  readonly name: string;
  readonly spec: unknown;
  readonly req: RequestAttributes;
  readonly allowed: boolean;
}

/** One policy in namespace prod, one request: does it match (ALLOW → allowed, DENY → denied)? */
const matching: Case[] = [
  // principals
  {
    name: 'principal exact',
    spec: { rules: [{ from: [{ source: { principals: [ORDERS] } }] }] },
    req: mtls(ORDERS),
    allowed: true,
  },
  {
    name: 'principal other SA',
    spec: { rules: [{ from: [{ source: { principals: [ORDERS] } }] }] },
    req: mtls('cluster.local/ns/prod/sa/web'),
    allowed: false,
  },
  {
    name: 'principal from spiffe:// identity',
    spec: { rules: [{ from: [{ source: { principals: [ORDERS] } }] }] },
    req: mtls(`spiffe://${ORDERS}`),
    allowed: true,
  },
  {
    name: 'principal * requires mTLS',
    spec: { rules: [{ from: [{ source: { principals: ['*'] } }] }] },
    req: mtls(undefined),
    allowed: false,
  },
  {
    name: 'principal * with mTLS',
    spec: { rules: [{ from: [{ source: { principals: ['*'] } }] }] },
    req: mtls(ORDERS),
    allowed: true,
  },
  {
    name: 'principal prefix',
    spec: { rules: [{ from: [{ source: { principals: ['cluster.local/ns/prod/*'] } }] }] },
    req: mtls(ORDERS),
    allowed: true,
  },
  {
    name: 'principal suffix',
    spec: { rules: [{ from: [{ source: { principals: ['*/sa/orders'] } }] }] },
    req: mtls(ORDERS),
    allowed: true,
  },
  {
    name: 'principal suffix miss',
    spec: { rules: [{ from: [{ source: { principals: ['*/sa/web'] } }] }] },
    req: mtls(ORDERS),
    allowed: false,
  },
  // Istio/Envoy: not* of an absent attribute matches (plaintext has no principal)
  {
    name: 'notPrincipals matches plaintext (no principal)',
    spec: { rules: [{ from: [{ source: { notPrincipals: [ORDERS] } }] }] },
    req: mtls(undefined),
    allowed: true,
  },
  {
    name: 'notPrincipals excludes listed',
    spec: { rules: [{ from: [{ source: { notPrincipals: [ORDERS] } }] }] },
    req: mtls(ORDERS),
    allowed: false,
  },
  {
    name: 'notPrincipals * matches only plaintext',
    spec: { rules: [{ from: [{ source: { notPrincipals: ['*'] } }] }] },
    req: mtls(ORDERS),
    allowed: false,
  },
  {
    name: 'notPrincipals * plaintext',
    spec: { rules: [{ from: [{ source: { notPrincipals: ['*'] } }] }] },
    req: mtls(undefined),
    allowed: true,
  },
  // namespaces
  {
    name: 'namespace from principal',
    spec: { rules: [{ from: [{ source: { namespaces: ['prod'] } }] }] },
    req: mtls(ORDERS),
    allowed: true,
  },
  {
    name: 'namespace other',
    spec: { rules: [{ from: [{ source: { namespaces: ['dev'] } }] }] },
    req: mtls(ORDERS),
    allowed: false,
  },
  {
    name: 'namespace plaintext never matches',
    spec: { rules: [{ from: [{ source: { namespaces: ['prod'] } }] }] },
    req: mtls(undefined),
    allowed: false,
  },
  {
    name: 'namespace prefix',
    spec: { rules: [{ from: [{ source: { namespaces: ['pr*'] } }] }] },
    req: mtls(ORDERS),
    allowed: true,
  },
  {
    name: 'notNamespaces',
    spec: { rules: [{ from: [{ source: { notNamespaces: ['prod'] } }] }] },
    req: mtls(ORDERS),
    allowed: false,
  },
  {
    name: 'notNamespaces plaintext',
    spec: { rules: [{ from: [{ source: { notNamespaces: ['prod'] } }] }] },
    req: mtls(undefined),
    allowed: true,
  },
  // service accounts
  {
    name: 'serviceAccounts short form is policy namespace',
    spec: { rules: [{ from: [{ source: { serviceAccounts: ['orders'] } }] }] },
    req: mtls(ORDERS),
    allowed: true,
  },
  {
    name: 'serviceAccounts ns/sa',
    spec: { rules: [{ from: [{ source: { serviceAccounts: ['dev/orders'] } }] }] },
    req: mtls(ORDERS),
    allowed: false,
  },
  {
    name: 'notServiceAccounts',
    spec: { rules: [{ from: [{ source: { notServiceAccounts: ['prod/orders'] } }] }] },
    req: mtls(ORDERS),
    allowed: false,
  },
  // ip blocks
  {
    name: 'ipBlocks CIDR',
    spec: { rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/24'] } }] }] },
    req: mtls(undefined),
    allowed: true,
  },
  {
    name: 'ipBlocks bare IP',
    spec: { rules: [{ from: [{ source: { ipBlocks: ['10.0.0.5'] } }] }] },
    req: mtls(undefined),
    allowed: true,
  },
  {
    name: 'ipBlocks miss',
    spec: { rules: [{ from: [{ source: { ipBlocks: ['10.0.1.0/24'] } }] }] },
    req: mtls(undefined),
    allowed: false,
  },
  {
    name: 'ipBlocks v4-mapped source',
    spec: { rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/8'] } }] }] },
    req: mtls(undefined, { sourceIp: '::ffff:10.9.9.9' }),
    allowed: true,
  },
  {
    name: 'ipBlocks IPv6',
    spec: { rules: [{ from: [{ source: { ipBlocks: ['fd00::/8'] } }] }] },
    req: mtls(undefined, { sourceIp: 'fd12::1' }),
    allowed: true,
  },
  {
    name: 'ipBlocks IPv6 miss',
    spec: { rules: [{ from: [{ source: { ipBlocks: ['fd00::/16'] } }] }] },
    req: mtls(undefined, { sourceIp: 'fd12::1' }),
    allowed: false,
  },
  {
    name: 'notIpBlocks',
    spec: { rules: [{ from: [{ source: { notIpBlocks: ['10.0.0.0/24'] } }] }] },
    req: mtls(undefined),
    allowed: false,
  },
  {
    name: 'remoteIpBlocks uses remoteIp',
    spec: { rules: [{ from: [{ source: { remoteIpBlocks: ['192.168.0.0/16'] } }] }] },
    req: http(undefined, 'GET', '/', { remoteIp: '192.168.3.4' }),
    allowed: true,
  },
  {
    name: 'remoteIpBlocks falls back to sourceIp',
    spec: { rules: [{ from: [{ source: { remoteIpBlocks: ['10.0.0.5'] } }] }] },
    req: http(undefined, 'GET', '/'),
    allowed: true,
  },
  {
    name: 'notRemoteIpBlocks',
    spec: { rules: [{ from: [{ source: { notRemoteIpBlocks: ['192.168.0.0/16'] } }] }] },
    req: http(undefined, 'GET', '/', { remoteIp: '192.168.3.4' }),
    allowed: false,
  },
  // request principals (JWT)
  {
    name: 'requestPrincipals * without JWT',
    spec: { rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] },
    req: http(undefined, 'GET', '/'),
    allowed: false,
  },
  {
    name: 'requestPrincipals * with JWT',
    spec: { rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] },
    req: http(undefined, 'GET', '/', { auth: { principal: 'iss/sub', audiences: [], claims: {} } }),
    allowed: true,
  },
  {
    name: 'requestPrincipals exact iss/sub',
    spec: {
      rules: [
        { from: [{ source: { requestPrincipals: ['testing@secure.istio.io/testing@secure.istio.io'] } }] },
      ],
    },
    req: http(undefined, 'GET', '/', {
      auth: { principal: 'testing@secure.istio.io/testing@secure.istio.io', audiences: [], claims: {} },
    }),
    allowed: true,
  },
  {
    name: 'notRequestPrincipals * without JWT',
    spec: { rules: [{ from: [{ source: { notRequestPrincipals: ['*'] } }] }] },
    req: http(undefined, 'GET', '/'),
    allowed: true,
  },
  // operation
  {
    name: 'methods',
    spec: { rules: [{ to: [{ operation: { methods: ['GET', 'HEAD'] } }] }] },
    req: http(ORDERS, 'HEAD', '/'),
    allowed: true,
  },
  {
    name: 'methods case-sensitive',
    spec: { rules: [{ to: [{ operation: { methods: ['GET'] } }] }] },
    req: http(ORDERS, 'get', '/'),
    allowed: false,
  },
  {
    name: 'notMethods',
    spec: { rules: [{ to: [{ operation: { notMethods: ['DELETE'] } }] }] },
    req: http(ORDERS, 'DELETE', '/'),
    allowed: false,
  },
  {
    name: 'paths exact ignores query',
    spec: { rules: [{ to: [{ operation: { paths: ['/charge'] } }] }] },
    req: http(ORDERS, 'POST', '/charge?x=1'),
    allowed: true,
  },
  {
    name: 'paths prefix',
    spec: { rules: [{ to: [{ operation: { paths: ['/api/*'] } }] }] },
    req: http(ORDERS, 'GET', '/api/v1/x'),
    allowed: true,
  },
  {
    name: 'paths suffix',
    spec: { rules: [{ to: [{ operation: { paths: ['*.png'] } }] }] },
    req: http(ORDERS, 'GET', '/img/a.png'),
    allowed: true,
  },
  {
    name: 'paths * any',
    spec: { rules: [{ to: [{ operation: { paths: ['*'] } }] }] },
    req: http(ORDERS, 'GET', '/'),
    allowed: true,
  },
  {
    name: 'paths {*} one segment',
    spec: { rules: [{ to: [{ operation: { paths: ['/users/{*}/profile'] } }] }] },
    req: http(ORDERS, 'GET', '/users/42/profile'),
    allowed: true,
  },
  {
    name: 'paths {*} not two segments',
    spec: { rules: [{ to: [{ operation: { paths: ['/users/{*}/profile'] } }] }] },
    req: http(ORDERS, 'GET', '/users/4/2/profile'),
    allowed: false,
  },
  {
    name: 'paths {**} then a literal',
    spec: { rules: [{ to: [{ operation: { paths: ['/files/{**}/meta'] } }] }] },
    req: http(ORDERS, 'GET', '/files/a/b/meta'),
    allowed: true,
  },
  {
    name: 'paths {*} never matches an empty segment',
    spec: { rules: [{ to: [{ operation: { paths: ['/users/{*}'] } }] }] },
    req: http(ORDERS, 'GET', '/users/'),
    allowed: false,
  },
  {
    name: 'paths {**} rest of path',
    spec: { rules: [{ to: [{ operation: { paths: ['/files/{**}'] } }] }] },
    req: http(ORDERS, 'GET', '/files/a/b/c.txt'),
    allowed: true,
  },
  {
    name: 'paths {**} matches zero segments',
    spec: { rules: [{ to: [{ operation: { paths: ['/files/{**}'] } }] }] },
    req: http(ORDERS, 'GET', '/files/'),
    allowed: true,
  },
  {
    name: 'notPaths',
    spec: { rules: [{ to: [{ operation: { notPaths: ['/admin*'] } }] }] },
    req: http(ORDERS, 'GET', '/admin/x'),
    allowed: false,
  },
  {
    name: 'hosts case-insensitive',
    spec: { rules: [{ to: [{ operation: { hosts: ['Payments.Prod.svc.cluster.local:8080'] } }] }] },
    req: http(ORDERS, 'GET', '/'),
    allowed: true,
  },
  {
    // Istio matches the whole :authority: a host without a port does not match one with a port (istio#44080)
    name: 'hosts without port vs authority with port',
    spec: { rules: [{ to: [{ operation: { hosts: ['payments.prod.svc.cluster.local'] } }] }] },
    req: http(ORDERS, 'GET', '/'),
    allowed: false,
  },
  {
    name: 'hosts host:* covers any port',
    spec: { rules: [{ to: [{ operation: { hosts: ['payments.prod.svc.cluster.local:*'] } }] }] },
    req: http(ORDERS, 'GET', '/'),
    allowed: true,
  },
  {
    name: 'hosts without port vs authority without port',
    spec: { rules: [{ to: [{ operation: { hosts: ['payments.prod.svc.cluster.local'] } }] }] },
    req: http(ORDERS, 'GET', '/', {
      http: { method: 'GET', path: '/', host: 'PAYMENTS.prod.svc.cluster.local' },
    }),
    allowed: true,
  },
  {
    name: 'hosts with port',
    spec: { rules: [{ to: [{ operation: { hosts: ['payments.prod.svc.cluster.local:8080'] } }] }] },
    req: http(ORDERS, 'GET', '/'),
    allowed: true,
  },
  {
    name: 'hosts wrong port',
    spec: { rules: [{ to: [{ operation: { hosts: ['payments.prod.svc.cluster.local:9090'] } }] }] },
    req: http(ORDERS, 'GET', '/'),
    allowed: false,
  },
  {
    name: 'hosts suffix',
    spec: { rules: [{ to: [{ operation: { hosts: ['*.svc.cluster.local:8080'] } }] }] },
    req: http(ORDERS, 'GET', '/'),
    allowed: true,
  },
  {
    name: 'notHosts',
    spec: { rules: [{ to: [{ operation: { notHosts: ['payments.*'] } }] }] },
    req: http(ORDERS, 'GET', '/'),
    allowed: false,
  },
  {
    name: 'ports',
    spec: { rules: [{ to: [{ operation: { ports: ['8080'] } }] }] },
    req: mtls(ORDERS),
    allowed: true,
  },
  {
    name: 'ports miss',
    spec: { rules: [{ to: [{ operation: { ports: ['9090'] } }] }] },
    req: mtls(ORDERS),
    allowed: false,
  },
  {
    name: 'notPorts',
    spec: { rules: [{ to: [{ operation: { notPorts: ['8080'] } }] }] },
    req: mtls(ORDERS),
    allowed: false,
  },
  // when
  {
    name: 'when header',
    spec: { rules: [{ when: [{ key: 'request.headers[X-Tenant]', values: ['acme'] }] }] },
    req: http(ORDERS, 'GET', '/', { http: { method: 'GET', path: '/', headers: { 'x-tenant': 'acme' } } }),
    allowed: true,
  },
  {
    name: 'when header absent',
    spec: { rules: [{ when: [{ key: 'request.headers[x-tenant]', values: ['acme'] }] }] },
    req: http(ORDERS, 'GET', '/'),
    allowed: false,
  },
  {
    name: 'when header notValues absent matches',
    spec: { rules: [{ when: [{ key: 'request.headers[x-tenant]', notValues: ['acme'] }] }] },
    req: http(ORDERS, 'GET', '/'),
    allowed: true,
  },
  {
    name: 'when source.ip',
    spec: { rules: [{ when: [{ key: 'source.ip', values: ['10.0.0.0/16'] }] }] },
    req: mtls(ORDERS),
    allowed: true,
  },
  {
    name: 'when remote.ip',
    spec: { rules: [{ when: [{ key: 'remote.ip', values: ['1.2.3.4'] }] }] },
    req: http(ORDERS, 'GET', '/', { remoteIp: '1.2.3.4' }),
    allowed: true,
  },
  {
    name: 'when source.namespace',
    spec: { rules: [{ when: [{ key: 'source.namespace', values: ['prod'] }] }] },
    req: mtls(ORDERS),
    allowed: true,
  },
  {
    name: 'when source.principal notValues',
    spec: { rules: [{ when: [{ key: 'source.principal', notValues: [ORDERS] }] }] },
    req: mtls(ORDERS),
    allowed: false,
  },
  {
    name: 'when destination.ip',
    spec: { rules: [{ when: [{ key: 'destination.ip', values: ['10.0.1.0/24'] }] }] },
    req: mtls(ORDERS),
    allowed: true,
  },
  {
    name: 'when destination.port',
    spec: { rules: [{ when: [{ key: 'destination.port', values: ['8080'] }] }] },
    req: mtls(ORDERS),
    allowed: true,
  },
  {
    name: 'when connection.sni',
    spec: { rules: [{ when: [{ key: 'connection.sni', values: ['*.example.com'] }] }] },
    req: http(ORDERS, 'GET', '/', { sni: 'api.example.com' }),
    allowed: true,
  },
  {
    name: 'when request.auth.principal',
    spec: { rules: [{ when: [{ key: 'request.auth.principal', values: ['iss/alice'] }] }] },
    req: http(undefined, 'GET', '/', { auth: { principal: 'iss/alice', audiences: [], claims: {} } }),
    allowed: true,
  },
  {
    name: 'when request.auth.audiences list',
    spec: { rules: [{ when: [{ key: 'request.auth.audiences', values: ['b'] }] }] },
    req: http(undefined, 'GET', '/', { auth: { principal: 'i/s', audiences: ['a', 'b'], claims: {} } }),
    allowed: true,
  },
  {
    name: 'when request.auth.presenter',
    spec: { rules: [{ when: [{ key: 'request.auth.presenter', values: ['cli'] }] }] },
    req: http(undefined, 'GET', '/', {
      auth: { principal: 'i/s', audiences: [], presenter: 'cli', claims: {} },
    }),
    allowed: true,
  },
  {
    name: 'when claims string',
    spec: { rules: [{ when: [{ key: 'request.auth.claims[iss]', values: ['https://acc'] }] }] },
    req: http(undefined, 'GET', '/', {
      auth: { principal: 'i/s', audiences: [], claims: { iss: 'https://acc' } },
    }),
    allowed: true,
  },
  {
    name: 'when claims list-valued',
    spec: { rules: [{ when: [{ key: 'request.auth.claims[groups]', values: ['group1'] }] }] },
    req: http(undefined, 'GET', '/', {
      auth: { principal: 'i/s', audiences: [], claims: { groups: ['group1', 'group2'] } },
    }),
    allowed: true,
  },
  {
    name: 'when claims nested',
    spec: { rules: [{ when: [{ key: 'request.auth.claims[realm][role]', values: ['admin'] }] }] },
    req: http(undefined, 'GET', '/', {
      auth: { principal: 'i/s', audiences: [], claims: { realm: { role: 'admin' } } },
    }),
    allowed: true,
  },
  {
    name: 'when claims non-string never matches',
    spec: { rules: [{ when: [{ key: 'request.auth.claims[admin]', values: ['true'] }] }] },
    req: http(undefined, 'GET', '/', { auth: { principal: 'i/s', audiences: [], claims: { admin: true } } }),
    allowed: false,
  },
  {
    name: 'when claims without JWT',
    spec: { rules: [{ when: [{ key: 'request.auth.claims[groups]', values: ['g'] }] }] },
    req: http(undefined, 'GET', '/'),
    allowed: false,
  },
  {
    name: 'when experimental key never matches',
    spec: { rules: [{ when: [{ key: 'experimental.envoy.filters.x[y]', values: ['z'] }] }] },
    req: http(ORDERS, 'GET', '/'),
    allowed: false,
  },
  // combinations
  {
    name: 'fields in one source AND',
    spec: { rules: [{ from: [{ source: { principals: [ORDERS], ipBlocks: ['192.168.0.0/16'] } }] }] },
    req: mtls(ORDERS),
    allowed: false,
  },
  {
    name: 'from entries OR',
    spec: {
      rules: [{ from: [{ source: { ipBlocks: ['192.168.0.0/16'] } }, { source: { principals: [ORDERS] } }] }],
    },
    req: mtls(ORDERS),
    allowed: true,
  },
  {
    name: 'from AND to',
    spec: {
      rules: [{ from: [{ source: { principals: [ORDERS] } }], to: [{ operation: { methods: ['GET'] } }] }],
    },
    req: http(ORDERS, 'POST', '/'),
    allowed: false,
  },
  {
    name: 'rules OR',
    spec: {
      rules: [{ to: [{ operation: { methods: ['GET'] } }] }, { to: [{ operation: { methods: ['POST'] } }] }],
    },
    req: http(ORDERS, 'POST', '/'),
    allowed: true,
  },
  {
    name: 'when conditions AND',
    spec: {
      rules: [
        {
          when: [
            { key: 'source.namespace', values: ['prod'] },
            { key: 'destination.port', values: ['1'] },
          ],
        },
      ],
    },
    req: mtls(ORDERS),
    allowed: false,
  },
  {
    name: 'values and notValues together',
    spec: { rules: [{ when: [{ key: 'source.namespace', values: ['pr*'], notValues: ['prod'] }] }] },
    req: mtls(ORDERS),
    allowed: false,
  },
  { name: 'rules: [{}] matches everything', spec: { rules: [{}] }, req: mtls(undefined), allowed: true },
  {
    name: 'TCP port-only rule',
    spec: { rules: [{ to: [{ operation: { ports: ['8080'] } }] }] },
    req: mtls(undefined),
    allowed: true,
  },
  // plain TCP at a waypoint/gateway: ALLOW rules needing HTTP never match
  {
    name: 'TCP request vs SNI rule (plain TCP has SNI)',
    spec: { rules: [{ when: [{ key: 'connection.sni', values: ['api.example.com'] }] }] },
    req: mtls(ORDERS, { sni: 'api.example.com' }),
    allowed: true,
  },
  {
    name: 'TCP request vs remoteIpBlocks',
    spec: { rules: [{ from: [{ source: { remoteIpBlocks: ['10.0.0.0/24'] } }] }] },
    req: mtls(undefined),
    allowed: true,
  },
  {
    name: 'TCP request vs header ALLOW rule',
    spec: { rules: [{ when: [{ key: 'request.headers[x-a]', values: ['b'] }] }] },
    req: mtls(ORDERS),
    allowed: false,
  },
  {
    name: 'TCP request vs requestPrincipals ALLOW rule',
    spec: { rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] },
    req: mtls(ORDERS),
    allowed: false,
  },
  {
    name: 'TCP request vs HTTP ALLOW rule',
    spec: { rules: [{ to: [{ operation: { methods: ['GET'] } }] }] },
    req: mtls(ORDERS),
    allowed: false,
  },
  {
    name: 'TCP request vs notPaths ALLOW rule',
    spec: { rules: [{ to: [{ operation: { notPaths: ['/x'] } }] }] },
    req: mtls(ORDERS),
    allowed: false,
  },
];

describe('evaluate: ALLOW policy matching (allowed ⇔ the rule matched)', () => {
  it.each(matching)('$name', ({ spec, req, allowed }) => {
    const d = evaluate([cap({ action: 'ALLOW', ...(spec as object) })], req);
    expect(d.allowed).toBe(allowed);
    expect(d.kind).toBe(allowed ? 'allow-matched' : 'no-allow-matched');
  });
});

describe('evaluate: the same rules as DENY (denied ⇔ matched; plain TCP denies on the non-HTTP part)', () => {
  const tcpHttpOnly = new Set([
    'TCP request vs HTTP ALLOW rule',
    'TCP request vs notPaths ALLOW rule',
    'TCP request vs header ALLOW rule',
    'TCP request vs requestPrincipals ALLOW rule',
  ]);
  it.each(matching)('$name', ({ name, spec, req, allowed }) => {
    const d = evaluate([cap({ action: 'DENY', ...(spec as object) })], req);
    // an HTTP-only DENY rule, checked against plain TCP, keeps only its L4 part (here: nothing) → denies
    const matched = tcpHttpOnly.has(name) ? true : allowed;
    expect(d.allowed).toBe(!matched);
    expect(d.kind).toBe(matched ? 'deny-matched' : 'no-allow-policies');
  });
});
