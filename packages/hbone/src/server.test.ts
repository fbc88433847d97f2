import { once } from 'node:events';
import { constants as h2constants } from 'node:http2';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { TestCa } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticCredentials } from './credentials.js';
import { HboneErrorCode } from './errors.js';
import { createHbonePool, type HbonePool } from './pool.js';
import { createHboneServer } from './server.js';
import type { ConnectionReport, ConnectRequest, HboneServer, TunnelReport } from './server-types.js';
import { echoServer, type Mesh, mesh, readAll } from './test-fixtures.js';
import { connectUpstream, directHandler } from './upstream.js';

describe('HBONE server + pooled client', () => {
  let m: Mesh;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let server: HboneServer;
  let port: number;
  let pool: HbonePool;
  const requests: ConnectRequest[] = [];
  const tunnels: TunnelReport[] = [];
  const connections: ConnectionReport[] = [];

  beforeAll(async () => {
    m = await mesh();
    echo = await echoServer();
    const direct = directHandler({ timeoutMs: 2000 });
    server = createHboneServer({
      credentials: m.server,
      handler: (req) => {
        requests.push(req);
        if (req.headers['x-test-deny'] !== undefined) return { status: 401, reason: 'denied by test policy' };
        return direct(req);
      },
      onTunnelClosed: (r) => tunnels.push(r),
      onConnectionClosed: (r) => connections.push(r),
    });
    port = (await server.listen({ port: 0, host: '127.0.0.1' }))?.port ?? 0;
    pool = createHbonePool({ credentials: m.client });
  });

  afterAll(async () => {
    await pool.close();
    await server.close();
    echo.server.close();
  });

  const hop = () => ({ host: '127.0.0.1', port });

  it('tunnels bytes both ways with half-close, and reports identity, headers and bytes', async () => {
    const t = await pool.open({
      nextHop: hop(),
      authority: `127.0.0.1:${echo.port}`,
      expectedIdentities: [m.serverId],
      forwardedFor: '10.0.0.9:41000',
      baggage: 'k8s.namespace.name=prod',
    });
    expect(t.status).toBe(200);
    expect(t.peerIdentity).toBe(m.serverId);
    t.stream.end(Buffer.alloc(100_000, 7));
    const back = await readAll(t.stream);
    expect(back.length).toBe(100_000);
    const req = requests.at(-1)!;
    expect(req.peerIdentity).toBe(m.clientId);
    expect(req.authority).toBe(`127.0.0.1:${echo.port}`);
    expect(req.headers.forwarded).toBe('for="10.0.0.9:41000"');
    expect(req.headers.baggage).toBe('k8s.namespace.name=prod');
    expect(req.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(req.connection.remoteAddress).toBe('127.0.0.1');
    await expect.poll(() => tunnels.length).toBe(1);
    const [snap] = server.snapshot();
    expect(snap).toMatchObject({
      peerIdentity: m.clientId,
      streams: 1,
      activeStreams: 0,
      handshaking: false,
    });
    expect(tunnels[0]).toMatchObject({ bytesAtoB: 100_000, bytesBtoA: 100_000, error: undefined });
  });

  it('reuses one connection for many tunnels and shares the first handshake', async () => {
    const before = pool.stats().handshakes;
    const opened = await Promise.all(
      Array.from({ length: 20 }, () =>
        pool.open({ nextHop: hop(), authority: `127.0.0.1:${echo.port}`, expectedIdentities: [m.serverId] }),
      ),
    );
    expect(pool.stats().handshakes - before).toBe(0);
    expect(pool.stats().activeStreams).toBe(20);
    await Promise.all(
      opened.map(async (t, i) => {
        t.stream.end(`hello ${i}`);
        expect((await readAll(t.stream)).toString()).toBe(`hello ${i}`);
      }),
    );
    // Every closed stream is released on both ends (one shared 'close' listener per connection).
    await expect.poll(() => pool.stats().activeStreams).toBe(0);
    await expect.poll(() => server.snapshot().reduce((n, c) => n + c.activeStreams, 0)).toBe(0);
    // Different expected identities → different pool key → a new connection that also shares one handshake.
    const fresh = await Promise.all(
      Array.from({ length: 5 }, () =>
        pool.open({
          nextHop: hop(),
          authority: `127.0.0.1:${echo.port}`,
          expectedIdentities: [m.serverId, 'spiffe://cluster.local/ns/x/sa/y'],
        }),
      ),
    );
    expect(pool.stats().handshakes - before).toBe(1);
    for (const t of fresh) t.stream.destroy();
  });

  it('opens a second connection when the next stream would exceed the per-connection limit', async () => {
    const small = createHbonePool({ credentials: m.client, maxStreamsPerConnection: 3 });
    const opened = await Promise.all(
      Array.from({ length: 7 }, () =>
        small.open({ nextHop: hop(), authority: `127.0.0.1:${echo.port}`, expectedIdentities: [m.serverId] }),
      ),
    );
    expect(small.stats().handshakes).toBe(3);
    expect(small.stats().connections).toBe(3);
    for (const t of opened) t.stream.destroy();
    await small.close();
  });

  it('gives a 401 with its reason to the client as a WeftError with the status', async () => {
    const err = await pool
      .open({
        nextHop: hop(),
        authority: `127.0.0.1:${echo.port}`,
        expectedIdentities: [m.serverId],
        extra: { 'x-test-deny': '1' },
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: HboneErrorCode.Rejected, status: 401 });
    expect(String((err as Error).message)).toContain('denied by test policy');
  });

  it('answers 503 when the upstream refuses, and 503 for the loop-guard ports', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const deadPort = (closed.address() as { port: number }).port;
    closed.close();
    const refused = await pool
      .open({ nextHop: hop(), authority: `127.0.0.1:${deadPort}`, expectedIdentities: [m.serverId] })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: HboneErrorCode.Rejected, status: 503 });
    expect(String((refused as Error).message)).toContain(HboneErrorCode.UpstreamRefused);
    for (const p of [15001, 15006, 15008]) {
      const looped = await pool
        .open({ nextHop: hop(), authority: `127.0.0.1:${p}`, expectedIdentities: [m.serverId] })
        .catch((e: unknown) => e);
      expect(looped).toMatchObject({ status: 503 });
      expect(String((looped as Error).message)).toContain(HboneErrorCode.IllegalPort);
    }
  });

  it('answers 400 for a bad authority', async () => {
    for (const authority of ['example.com:80', '127.0.0.1', '127.0.0.1:99999', '[::1:80']) {
      const err = await pool
        .open({ nextHop: hop(), authority, expectedIdentities: [m.serverId] })
        .catch((e: unknown) => e);
      expect(err, authority).toMatchObject({ code: HboneErrorCode.Rejected, status: 400 });
    }
  });

  it('refuses a server whose SAN is not expected, and a server with an untrusted chain', async () => {
    const wrong = await pool
      .open({
        nextHop: hop(),
        authority: `127.0.0.1:${echo.port}`,
        expectedIdentities: ['spiffe://cluster.local/ns/prod/sa/other'],
      })
      .catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: HboneErrorCode.PeerIdentity });

    const otherCa = await TestCa.create();
    const rogue = await otherCa.workload('prod', 'server');
    const rogueServer = createHboneServer({
      credentials: staticCredentials({
        identity: rogue.spiffeId,
        certChainPem: rogue.chainPem,
        keyPem: rogue.keyPem,
        rootsPem: m.ca.rootPem,
      }),
      handler: directHandler(),
    });
    const roguePort = (await rogueServer.listen({ port: 0, host: '127.0.0.1' }))?.port ?? 0;
    const untrusted = await pool
      .open({
        nextHop: { host: '127.0.0.1', port: roguePort },
        authority: `127.0.0.1:${echo.port}`,
        expectedIdentities: [m.serverId],
      })
      .catch((e: unknown) => e);
    expect(untrusted).toMatchObject({ code: HboneErrorCode.PeerUntrusted });
    await rogueServer.close();
  });

  it('refuses clients with an untrusted chain or a foreign trust domain', async () => {
    const otherCa = await TestCa.create();
    const rogue = await otherCa.workload('prod', 'client');
    const roguePool = createHbonePool({
      credentials: staticCredentials({
        identity: rogue.spiffeId,
        certChainPem: rogue.chainPem,
        keyPem: rogue.keyPem,
        rootsPem: m.ca.rootPem,
      }),
    });
    const before = connections.length;
    const err = await roguePool
      .open({ nextHop: hop(), authority: `127.0.0.1:${echo.port}`, expectedIdentities: [m.serverId] })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: HboneErrorCode.ConnectFailed });
    await expect
      .poll(() => connections.slice(before).map((c) => (c.error as { code?: string } | undefined)?.code))
      .toContain(HboneErrorCode.PeerUntrusted);
    await roguePool.close();

    const foreign = await m.ca.issue({ uris: ['spiffe://evil.example/ns/prod/sa/client'] });
    const foreignPool = createHbonePool({
      credentials: staticCredentials({
        identity: 'spiffe://evil.example/ns/prod/sa/client',
        certChainPem: foreign.chainPem,
        keyPem: foreign.keyPem,
        rootsPem: m.ca.rootPem,
        trustDomains: ['cluster.local'],
      }),
    });
    const before2 = connections.length;
    await expect(
      foreignPool.open({
        nextHop: hop(),
        authority: `127.0.0.1:${echo.port}`,
        expectedIdentities: [m.serverId],
      }),
    ).rejects.toMatchObject({ code: HboneErrorCode.ConnectFailed });
    await expect
      .poll(() => connections.slice(before2).map((c) => (c.error as { code?: string } | undefined)?.code))
      .toContain(HboneErrorCode.PeerIdentity);
    await foreignPool.close();
  });

  it('accepts sockets from a listener made elsewhere (handleConnection) and sends no SNI', async () => {
    let servername: unknown = 'unset';
    const outside = createServer((s: Socket) => server.handleConnection(s));
    outside.on('secureConnection', () => {});
    outside.listen(0, '127.0.0.1');
    await once(outside, 'listening');
    const p = (outside.address() as { port: number }).port;
    const other = createHbonePool({ credentials: m.client });
    const t = await other.open({
      nextHop: { host: '127.0.0.1', port: p },
      authority: `127.0.0.1:${echo.port}`,
      expectedIdentities: [m.serverId],
    });
    servername = (requests.at(-1) as ConnectRequest).headers[':authority'];
    t.stream.end('x');
    expect((await readAll(t.stream)).toString()).toBe('x');
    expect(servername).toBe(`127.0.0.1:${echo.port}`);
    await other.close();
    outside.close();
  });

  it('passes resets through the tunnel both ways', async () => {
    // Client resets → the upstream socket sees a TCP reset.
    const t1 = await pool.open({
      nextHop: hop(),
      authority: `127.0.0.1:${echo.port}`,
      expectedIdentities: [m.serverId],
    });
    t1.stream.write('x');
    await once(t1.stream, 'data');
    const upstream1 = [...echo.sockets].at(-1)!;
    const upstreamError = once(upstream1, 'error');
    t1.stream.close(h2constants.NGHTTP2_CANCEL);
    const [err1] = (await upstreamError) as [NodeJS.ErrnoException];
    expect(err1.code).toBe('ECONNRESET');

    // Upstream resets → the client's stream gets RST_STREAM CONNECT_ERROR.
    const t2 = await pool.open({
      nextHop: hop(),
      authority: `127.0.0.1:${echo.port}`,
      expectedIdentities: [m.serverId],
    });
    t2.stream.on('error', () => {});
    t2.stream.write('y');
    await once(t2.stream, 'data');
    const upstream2 = [...echo.sockets].at(-1)!;
    const closed = new Promise((resolve) => t2.stream.once('close', resolve));
    upstream2.resetAndDestroy();
    await closed;
    expect(t2.stream.rstCode).toBe(h2constants.NGHTTP2_CONNECT_ERROR);
    await expect.poll(() => tunnels.some((r) => r.error !== undefined)).toBe(true);
  });

  it('sends no SNI', async () => {
    const cert = await m.ca.workload('prod', 'server');
    let sni: string | undefined = 'not called';
    const probe = createTlsServer({
      cert: cert.chainPem,
      key: cert.keyPem,
      ALPNProtocols: ['h2'],
      SNICallback: (name, cb) => {
        sni = name;
        cb(null, undefined);
      },
    });
    let servername: string | false | null | undefined;
    probe.on('secureConnection', (s: TLSSocket) => {
      servername = s.servername;
      s.destroy();
    });
    probe.on('tlsClientError', () => {});
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const p = (probe.address() as { port: number }).port;
    const other = createHbonePool({ credentials: m.client, handshakeTimeoutMs: 2000 });
    await other
      .open({
        nextHop: { host: '127.0.0.1', port: p },
        authority: '127.0.0.1:1',
        expectedIdentities: [m.serverId],
      })
      .catch(() => {});
    expect(sni).toBe('not called');
    expect(servername).toBe(false);
    await other.close();
    probe.close();
  });

  it("makes its TCP socket with the caller's connect hook", async () => {
    const hops: unknown[] = [];
    const hooked = createHbonePool({
      credentials: m.client,
      connect: (hop) => {
        hops.push(hop);
        return netConnect({ host: hop.host, port: hop.port });
      },
    });
    const t = await hooked.open({
      nextHop: { host: '127.0.0.1', port, sourceIp: '127.0.0.1' },
      authority: `127.0.0.1:${echo.port}`,
      expectedIdentities: [m.serverId],
    });
    t.stream.end('via hook');
    expect((await readAll(t.stream)).toString()).toBe('via hook');
    expect(hops).toEqual([{ host: '127.0.0.1', port, sourceIp: '127.0.0.1' }]);
    await hooked.close();
  });

  it('reports a connect timeout that mentions NetworkPolicy and port 15008', async () => {
    const stuck = createHbonePool({
      credentials: m.client,
      connectTimeoutMs: 100,
      // A SYN that is never answered: the socket factory never produces a connected socket.
      connect: () => new Promise<Socket>(() => {}),
    });
    const err = await stuck
      .open({
        nextHop: { host: '10.255.255.1', port: 15008 },
        authority: '10.0.0.1:80',
        expectedIdentities: [m.serverId],
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: HboneErrorCode.ConnectTimeout });
    expect((err as Error).message).toMatch(/NetworkPolicy.*15008/);
    await stuck.close();
  });

  it('connectUpstream rejects with a 503-carrying error on refusal', async () => {
    await expect(connectUpstream({ host: '127.0.0.1', port: 1, timeoutMs: 500 })).rejects.toMatchObject({
      code: HboneErrorCode.UpstreamRefused,
      status: 503,
    });
  });
});
