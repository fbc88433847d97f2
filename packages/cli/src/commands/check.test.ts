import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureIo } from '../test-io.js';

const dir = join(import.meta.dirname, '..', 'testdata');

async function run(argv: string[]) {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, out: io.out(), err: io.err() };
}

describe('weftctl check tls (--config-dir)', () => {
  it('STRICT ambient pod: mutual TLS only, exit 0', async () => {
    const r = await run(['check', 'tls', 'prod/web-1', '--config-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('STRICT (PeerAuthentication istio-system/default, mesh level)');
    expect(r.out).toContain('mutual TLS only');
  });

  it('workload PERMISSIVE override: plaintext accepted, exit 1, JSON for scripts', async () => {
    const r = await run(['check', 'tls', 'legacy-1.prod', '--config-dir', dir, '-o', 'json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({
      pod: 'prod/legacy-1',
      enrolled: true,
      mode: 'PERMISSIVE',
      policy: 'prod/legacy-permissive',
      level: 'workload',
      mutualTlsOnly: false,
      plaintextAccepted: true,
    });
  });

  it('pod outside the mesh: plaintext, exit 1', async () => {
    const r = await run(['check', 'tls', 'curl-1', '-n', 'dev', '--config-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('not in the mesh');
  });

  it('unknown pod is a usage error', async () => {
    const r = await run(['check', 'tls', 'prod/nope', '--config-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no pod prod/nope');
  });
});

describe('weftctl check authz', () => {
  it('ALLOW names the policy and the rule', async () => {
    const r = await run([
      'check',
      'authz',
      'prod/web-1',
      'prod/orders-1',
      'POST',
      '/charge',
      '--config-dir',
      dir,
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('ALLOW');
    expect(r.out).toContain('prod/orders-only-from-web');
    expect(r.out).toContain('waypoint (L7)');
  });

  it('DENY beats ALLOW and says which rule', async () => {
    const r = await run([
      'check',
      'authz',
      'prod/web-1',
      'prod/orders-1',
      'GET',
      '/status/418',
      '--config-dir',
      dir,
      '-o',
      'json',
    ]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({
      allowed: false,
      decidedBy: 'authorization-policy',
      policy: 'prod/deny-teapot',
      ruleIndex: 0,
    });
  });

  it('another identity is denied because no ALLOW matched', async () => {
    const r = await run([
      'check',
      'authz',
      'prod/legacy-1',
      'prod/orders-1',
      'POST',
      '/charge',
      '--config-dir',
      dir,
      '-o',
      'json',
    ]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({
      allowed: false,
      request: { principal: 'cluster.local/ns/prod/sa/legacy' },
    });
  });

  it('plaintext from outside the mesh to a STRICT pod is refused by PeerAuthentication', async () => {
    const r = await run(['check', 'authz', 'dev/curl-1', 'prod/web-1', '--config-dir', dir, '-o', 'json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({
      decidedBy: 'peer-authentication',
      policy: 'istio-system/default',
    });
  });

  it('no policy on the destination: allowed at L4', async () => {
    const r = await run(['check', 'authz', 'prod/orders-1', 'prod/web-1', '--config-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('weft-node (L4)');
  });

  it('needs --config-dir', async () => {
    expect((await run(['check', 'authz', 'a', 'b'])).code).toBe(2);
  });
});

describe('check tls, certs and config dump against an agent admin endpoint', () => {
  let server: Server;
  let admin = '';
  const future = new Date(Date.now() + 12 * 3600_000).toISOString();
  const dump = {
    workloads: [
      {
        name: 'web-1',
        namespace: 'prod',
        authorizationPolicies: ['istio-system/istio_converted_static_strict'],
      },
      { name: 'legacy-1', namespace: 'prod', authorizationPolicies: [] },
    ],
    services: [],
    policies: [],
    pods: [
      {
        uid: 'u1',
        name: 'web-1',
        namespace: 'prod',
        ips: ['10.44.1.10'],
        identity: 'spiffe://cluster.local/ns/prod/sa/web',
        captured: true,
      },
      {
        uid: 'u2',
        name: 'legacy-1',
        namespace: 'prod',
        ips: ['10.44.1.12'],
        identity: 'spiffe://cluster.local/ns/prod/sa/legacy',
        captured: true,
      },
    ],
    optedOut: [],
    certificates: [{ identity: 'spiffe://cluster.local/ns/prod/sa/web', serial: '0a1b', notAfter: future }],
  };
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/config_dump') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(dump));
      } else {
        res.statusCode = 404;
        res.end('no');
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    admin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it('check tls from weft-pilot’s dump (workloads under discovery)', async () => {
    const pilot = createServer((_req, res) => {
      res.end(
        JSON.stringify({
          discovery: {
            workloads: [
              {
                name: 'web-1',
                namespace: 'prod',
                tunnelProtocol: 'HBONE',
                authorizationPolicies: ['istio-system/istio_converted_static_strict'],
              },
              { name: 'curl-1', namespace: 'dev', tunnelProtocol: 'NONE', authorizationPolicies: [] },
            ],
          },
        }),
      );
    });
    pilot.listen(0, '127.0.0.1');
    await once(pilot, 'listening');
    const url = `http://127.0.0.1:${(pilot.address() as AddressInfo).port}`;
    try {
      expect((await run(['check', 'tls', 'prod/web-1', '--admin', url])).code).toBe(0);
      const plain = await run(['check', 'tls', 'dev/curl-1', '--admin', url, '-o', 'json']);
      expect(plain.code).toBe(1);
      expect(JSON.parse(plain.out)).toMatchObject({ enrolled: false, source: 'admin' });
    } finally {
      pilot.close();
    }
  });

  it('check tls from the agent', async () => {
    expect((await run(['check', 'tls', 'prod/web-1', '--admin', admin])).code).toBe(0);
    expect((await run(['check', 'tls', 'prod/legacy-1', '--admin', admin])).code).toBe(1);
    expect((await run(['check', 'tls', 'prod/nope', '--admin', admin])).code).toBe(2);
  });

  it('certs shows identity, serial and time left; missing cert is exit 1', async () => {
    const r = await run(['certs', 'prod/web-1', '--admin', admin]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('spiffe://cluster.local/ns/prod/sa/web');
    expect(r.out).toMatch(/1[01] h \d+ min left/);
    const j = await run(['certs', 'web-1.prod', '--admin', admin, '-o', 'json']);
    expect(JSON.parse(j.out)).toMatchObject({ serial: '0a1b', valid: true });
    expect((await run(['certs', 'prod/legacy-1', '--admin', admin])).code).toBe(1);
  });

  it('config dump: sections, one section, JSON', async () => {
    const r = await run(['config', 'dump', '--admin', admin]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('pods            2 entries');
    const s = await run(['config', 'dump', '--admin', admin, '--section', 'pods', '-o', 'json']);
    expect(JSON.parse(s.out)).toHaveLength(2);
    const all = await run(['config', 'dump', '--admin', admin, '-o', 'yaml']);
    expect(all.out).toContain('certificates:');
  });

  it('an unreachable admin port is a connection error (2) that says what to do', async () => {
    const r = await run(['config', 'dump', '--admin', 'http://127.0.0.1:1']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('port-forward');
  });
});
