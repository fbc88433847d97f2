import { describe, expect, it } from 'vitest';
import { buildRoutes, hostOfAuthority, matchHttpRoute, matchTlsRoute, pickWeighted } from './routes.js';
import { hostMatches, planServers, serverForSni } from './servers.js';
import { configsFromYaml } from './test-fixtures.js';

const configs = configsFromYaml(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
    - port: { number: 443, name: https, protocol: HTTPS }
      hosts: [default/test.com]
      tls: { mode: MUTUAL, credentialName: test.com, minProtocolVersion: TLSV1_3 }
    - port: { number: 443, name: https-wild, protocol: HTTPS }
      hosts: ['*.example.com']
      tls: { mode: SIMPLE, credentialName: wild }
    - port: { number: 443, name: pass, protocol: TLS }
      hosts: [pass.example.com]
      tls: { mode: PASSTHROUGH }
    - port: { number: 8443, name: bad, protocol: HTTPS }
      hosts: [x.com]
      tls: { mode: SIMPLE }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: egress, namespace: default }
spec:
  selector: { istio: egressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ['*'] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: istio-ingressgateway, namespace: istio-system }
spec:
  gatewayClassName: istio
  listeners:
    - { name: http, port: 8080, protocol: HTTP, hostname: api.example.org }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: vs, namespace: default }
spec:
  hosts: [test.com, '*.example.com']
  gateways: [gw]
  http:
    - match: [{ uri: { exact: /exact } }]
      route: [{ destination: { host: exact, port: { number: 80 } } }]
    - match: [{ uri: { prefix: /api }, method: { exact: POST } }]
      route: [{ destination: { host: api.other.svc.cluster.local } }]
    - match: [{ headers: { x-canary: { exact: 'yes' } } }]
      route:
        - { destination: { host: canary }, weight: 10 }
        - { destination: { host: stable }, weight: 90 }
    - route: [{ destination: { host: fallback } }]
  tls:
    - match: [{ port: 443, sniHosts: [pass.example.com] }]
      route: [{ destination: { host: pass-backend, port: { number: 8443 } } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: unbound, namespace: default }
spec:
  hosts: [test.com]
  gateways: [other-gateway]
  http: [{ route: [{ destination: { host: never } }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: api, namespace: istio-system }
spec:
  parentRefs: [{ name: istio-ingressgateway }]
  hostnames: [api.example.org]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /v1 } }]
      backendRefs: [{ name: api, namespace: apps, port: 9000 }]
`);

const me = {
  name: 'istio-ingressgateway',
  namespace: 'istio-system',
  labels: { istio: 'ingressgateway', app: 'istio-ingressgateway' },
};

describe('planServers', () => {
  const plan = planServers(configs, me);
  it('takes selector-matching Istio Gateways and its own Gateway API Gateway', () => {
    expect([...plan.ports.keys()].sort()).toEqual([443, 8080]);
    const s443 = plan.ports.get(443) ?? [];
    expect(s443.map((s) => s.hosts)).toEqual([['test.com'], ['*.example.com'], ['pass.example.com']]);
    expect(s443[0]?.tls).toMatchObject({ mode: 'MUTUAL', credentialName: 'test.com', minVersion: 'TLSv1.3' });
  });
  it('reports a server it skips', () => {
    expect(plan.problems.join('\n')).toMatch(/servers\[3\].*needs credentialName/);
  });
  it('SNI picks the most specific server; no SNI gets the first', () => {
    const s = plan.ports.get(443) ?? [];
    expect(serverForSni(s, 'test.com')?.tls?.mode).toBe('MUTUAL');
    expect(serverForSni(s, 'a.example.com')?.tls?.mode).toBe('SIMPLE');
    expect(serverForSni(s, 'pass.example.com')?.tls?.mode).toBe('PASSTHROUGH');
    expect(serverForSni(s, 'unknown.org')).toBeUndefined();
    expect(serverForSni(s, undefined)?.hosts).toEqual(['test.com']);
  });
});

describe('routes', () => {
  const plan = planServers(configs, me);
  const table = buildRoutes(configs, {
    istioGateways: new Set(['default/gw']),
    apiGateways: new Set(['istio-system/istio-ingressgateway']),
  });
  const req = (authority: string, path: string, method = 'GET', headers: Record<string, string> = {}) =>
    matchHttpRoute(table, { port: 443, authority, path, method, headers })?.map((d) => d.host);

  it.each([
    ['test.com', '/exact', 'GET', {}, ['exact']],
    ['test.com:443', '/exact/more', 'GET', {}, ['fallback']],
    ['a.example.com', '/api/x', 'POST', {}, ['api.other.svc.cluster.local']],
    ['a.example.com', '/api/x', 'GET', {}, ['fallback']],
    ['test.com', '/', 'GET', { 'x-canary': 'yes' }, ['canary', 'stable']],
    ['nothing.org', '/exact', 'GET', {}, undefined],
    ['api.example.org', '/v1/users', 'GET', {}, ['api.apps.svc.cluster.local']],
    ['api.example.org', '/v2', 'GET', {}, undefined],
  ])('%s %s %s %j → %j', (authority, path, method, headers, want) => {
    expect(req(authority, path, method, headers)).toEqual(want);
  });

  it('a VirtualService bound to another gateway is ignored', () => {
    expect(table.http.map((v) => v.source)).not.toContain('default/unbound');
  });

  it('PASSTHROUGH routes by SNI', () => {
    expect(matchTlsRoute(table, 443, 'pass.example.com')?.[0]).toMatchObject({
      host: 'pass-backend',
      port: 8443,
    });
    expect(matchTlsRoute(table, 443, 'other.example.com')).toBeUndefined();
    expect(plan.ports.size).toBe(2);
  });

  it('weights pick destinations in proportion', () => {
    const dests =
      matchHttpRoute(table, {
        port: 443,
        authority: 'test.com',
        path: '/',
        method: 'GET',
        headers: { 'x-canary': 'yes' },
      }) ?? [];
    expect(pickWeighted(dests, () => 0.05)?.host).toBe('canary');
    expect(pickWeighted(dests, () => 0.5)?.host).toBe('stable');
  });

  it.each([
    ['*', 'x.y', true],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['test.com', 'test.com', true],
    ['test.com', 'www.test.com', false],
  ])('hostMatches(%s, %s) = %s', (p, h, want) => {
    expect(hostMatches(p, h)).toBe(want);
  });

  it.each([
    ['test.com:443', 'test.com'],
    ['TEST.com', 'test.com'],
    ['[::1]:80', '[::1]'],
  ])('hostOfAuthority(%s) = %s', (a, want) => {
    expect(hostOfAuthority(a)).toBe(want);
  });
});
