/**
 * Two agents in one process over real network namespaces: node1 holds the client pod, node2 the
 * server pods. Apps are sockets this test opens inside the pod namespaces, so every byte crosses the
 * real capture rules, the agents' in-pod listeners and HBONE between the nodes.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createHbonePool, staticCredentials } from '@weft/hbone';
import { connectIn, listenServerIn, Netns } from '@weft/netns';
import { createLogger, createRegistry, silentLogger } from '@weft/telemetry';
import { createTopology, rootSkipReason, TestCa, type Topology } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeAgent } from './agent.js';
import type { CertificateMaterial, IdentityProvider } from './identity.js';
import type { PodInfo } from './lifecycle-protocol.js';
import {
  policy,
  putPolicies,
  putServices,
  putWorkloads,
  removePolicies,
  service,
  workload,
  XdsStore,
} from './test-fixtures.js';

const skip = rootSkipReason();
if (skip !== undefined) console.warn(`[node-agent] skipping namespace tests: ${skip}`);

function testIdentity(ca: TestCa): IdentityProvider {
  const material = async (identity: string): Promise<CertificateMaterial> => {
    const m = /\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(identity);
    const cred = await ca.workload(m?.[1] ?? '', m?.[2] ?? '');
    return {
      identity,
      chainPem: cred.chainPem,
      keyPem: cred.keyPem,
      rootsPem: ca.rootPem,
      trustDomains: ['cluster.local'],
    };
  };
  return {
    async credentials(identity) {
      const m = await material(identity);
      return staticCredentials({
        identity,
        certChainPem: m.chainPem,
        keyPem: m.keyPem,
        rootsPem: m.rootsPem,
      });
    },
    material,
    onRotation: () => () => undefined,
    forget: () => undefined,
    dump: () => [],
  };
}

/** An app inside a pod: answers each connection with "<remote ip>|" then echoes. */
async function echoApp(
  netnsPath: string,
  port: number,
): Promise<{ server: Server; ns: Netns; hits: () => number }> {
  const ns = Netns.open(netnsPath);
  let hits = 0;
  const server = createServer({ allowHalfOpen: true }, (s) => {
    hits++;
    s.on('error', () => undefined);
    s.write(`${s.remoteAddress}|`);
    s.pipe(s);
  });
  await listenServerIn(server, ns, { host: '0.0.0.0', port });
  return { server, ns, hits: () => hits };
}

/** Connects from inside a pod (no mark: captured like the pod's own traffic), sends, reads until end. */
function exchange(
  netnsPath: string,
  host: string,
  port: number,
  payload: string,
): Promise<{ data: string; error?: string }> {
  const ns = Netns.open(netnsPath);
  return new Promise((resolve) => {
    const s = connectIn(ns, { host, port });
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      data += d;
    });
    s.once('connect', () => s.end(payload));
    s.once('error', (err) => {
      ns.close();
      resolve({ data, error: (err as NodeJS.ErrnoException).code ?? err.message });
    });
    s.once('end', () => {
      ns.close();
      resolve({ data });
    });
    s.setTimeout(10_000, () => s.destroy(new Error('timeout')));
  });
}

function podInfo(p: { name: string; netnsPath: string; ip: string }, sa = p.name): PodInfo {
  return {
    uid: `uid-${p.name}`,
    name: p.name,
    namespace: 'default',
    serviceAccount: sa,
    netnsPath: p.netnsPath,
    ips: [p.ip],
    labels: {},
  };
}

for (const workers of [0, 2]) {
  describe.skipIf(skip !== undefined)(
    `node agent data path over network namespaces (root, ${workers === 0 ? 'on the main thread' : `${workers} worker threads`})`,
    () => {
      let topo: Topology;
      let store: XdsStore;
      const agents: NodeAgent[] = [];
      const apps: { server: Server; ns: Netns; hits: () => number }[] = [];
      let ca: TestCa;
      /** The client-side agent's log lines (main-thread mode only: workers log to stdout themselves). */
      const clientLog: string[] = [];

      beforeAll(async () => {
        topo = await createTopology({
          nodes: [
            { name: 'n1', pods: [{ name: 'client' }, { name: 'outsider' }] },
            { name: 'n2', pods: [{ name: 'server' }, { name: 'server2' }] },
          ],
        });
        ca = await TestCa.create();
        store = new XdsStore();
        const svcKey = 'default/echo.default.svc.cluster.local';
        const ports = { [svcKey]: [{ servicePort: 80, targetPort: 8080, appProtocol: 'TCP' as const }] };
        putWorkloads(
          store,
          workload({ name: 'client', ip: topo.pod('client').ip, node: 'n1' }),
          workload({ name: 'server', ip: topo.pod('server').ip, node: 'n2', services: ports }),
          workload({ name: 'server2', ip: topo.pod('server2').ip, node: 'n2', services: ports }),
        );
        putServices(store, service({ name: 'echo', vip: '10.96.0.10', ports: [[80, 8080]] }));
        for (const name of ['server', 'server2']) apps.push(await echoApp(topo.pod(name).netnsPath, 8080));
        for (let i = 0; i < 2; i++) {
          agents.push(
            await NodeAgent.start({
              workers,
              view: store,
              identity: testIdentity(ca),
              registry: createRegistry({ processMetrics: false }),
              logger: process.env.WEFT_TEST_LOG
                ? createLogger({ name: `agent${i}`, level: 'debug', format: 'json' })
                : i === 0
                  ? createLogger({
                      name: 'agent0',
                      level: 'info',
                      destination: { write: (l: string) => void clientLog.push(l) },
                    })
                  : silentLogger(),
              trustDomain: 'cluster.local',
            }),
          );
        }
        await agents[0]?.handle({ type: 'add', pod: podInfo(topo.pod('client')) });
        await agents[1]?.handle({
          type: 'snapshot',
          pods: [podInfo(topo.pod('server')), podInfo(topo.pod('server2'))],
        });
      });

      afterAll(async () => {
        for (const a of agents) {
          const t = Date.now();
          await a.close({ drainMs: 0, uninstall: true });
          if (process.env.WEFT_TEST_LOG) console.log('closed agent in', Date.now() - t);
        }
        for (const a of apps) {
          a.server.close();
          a.ns.close();
        }
        await topo?.destroy();
      });

      it('pod to pod across nodes over HBONE: data arrives and the server sees the client pod IP', async () => {
        const r = await exchange(topo.pod('client').netnsPath, topo.pod('server').ip, 8080, 'hello mesh');
        expect(r.error).toBeUndefined();
        expect(r.data).toBe(`${topo.pod('client').ip}|hello mesh`);
        const dump = agents[1]?.configDump() as { pods: { name: string }[] };
        expect(dump.pods.map((p) => p.name).sort()).toEqual(['server', 'server2']);
      });

      it('a service VIP is balanced across endpoints, with the service port mapped to the target port', async () => {
        const before = apps.map((a) => a.hits());
        for (let i = 0; i < 16; i++) {
          const r = await exchange(topo.pod('client').netnsPath, '10.96.0.10', 80, `x${i}`);
          expect(r.data).toBe(`${topo.pod('client').ip}|x${i}`);
        }
        const delta = apps.map((a, i) => a.hits() - (before[i] ?? 0));
        expect(delta[0]! + delta[1]!).toBe(16);
        expect(delta[0]).toBeGreaterThan(0);
        expect(delta[1]).toBeGreaterThan(0);
      });

      it('a plaintext client outside the mesh is accepted (PERMISSIVE) and refused under a STRICT-style policy', async () => {
        const outsider = topo.pod('outsider');
        const ok = await exchange(outsider.netnsPath, topo.pod('server').ip, 8080, 'plain');
        expect(ok.data).toBe(`${outsider.ip}|plain`);
        putPolicies(store, policy({ name: 'strict', action: 'DENY', notPrincipalsPresence: true }));
        try {
          const denied = await exchange(outsider.netnsPath, topo.pod('server').ip, 8080, 'plain');
          expect(denied.data).toBe('');
          // mTLS from a mesh pod still works.
          const mesh = await exchange(topo.pod('client').netnsPath, topo.pod('server').ip, 8080, 'mtls');
          expect(mesh.data).toBe(`${topo.pod('client').ip}|mtls`);
        } finally {
          removePolicies(store, 'default/strict');
        }
      });

      it('L4 ALLOW by principal; DENY beats ALLOW; an ALLOW with no rules denies all', async () => {
        const client = topo.pod('client');
        const to = topo.pod('server').ip;
        putPolicies(
          store,
          policy({
            name: 'allow-other',
            action: 'ALLOW',
            principals: ['cluster.local/ns/default/sa/nobody'],
          }),
        );
        expect((await exchange(client.netnsPath, to, 8080, 'a')).data).toBe('');
        putPolicies(
          store,
          policy({
            name: 'allow-client',
            action: 'ALLOW',
            principals: ['cluster.local/ns/default/sa/client'],
          }),
        );
        expect((await exchange(client.netnsPath, to, 8080, 'b')).data).toBe(`${client.ip}|b`);
        putPolicies(store, policy({ name: 'deny-port', action: 'DENY', ports: [8080] }));
        expect((await exchange(client.netnsPath, to, 8080, 'c')).data).toBe('');
        removePolicies(store, 'default/allow-other', 'default/allow-client', 'default/deny-port');
        putPolicies(store, policy({ name: 'deny-all', action: 'ALLOW', noRules: true }));
        expect((await exchange(client.netnsPath, to, 8080, 'd')).data).toBe('');
        removePolicies(store, 'default/deny-all');
        expect((await exchange(client.netnsPath, to, 8080, 'e')).data).toBe(`${client.ip}|e`);
      });

      it('a policy change closes an open connection that is no longer allowed', async () => {
        const ns = Netns.open(topo.pod('client').netnsPath);
        const s: Socket = connectIn(ns, { host: topo.pod('server').ip, port: 8080 });
        let data = '';
        s.setEncoding('utf8');
        s.on('data', (d: string) => {
          data += d;
        });
        // The client sees the tunnel end (FIN, then RST): either ends its read side.
        const closed = new Promise<void>((resolve) => {
          s.once('end', () => resolve());
          s.once('close', () => resolve());
        });
        s.on('error', () => undefined);
        s.write('one');
        const deadline = Date.now() + 5000;
        while (!data.endsWith('one') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(data).toBe(`${topo.pod('client').ip}|one`);
        // The admin view of open connections shows it on both ends.
        const inbound = (await agents[1]?.connections()) ?? [];
        expect(inbound).toContainEqual(
          expect.objectContaining({
            direction: 'inbound',
            srcIdentity: 'spiffe://cluster.local/ns/default/sa/client',
            dst: `${topo.pod('server').ip}:8080`,
            mtls: true,
          }),
        );
        const outbound = (await agents[0]?.connections()) ?? [];
        expect(
          outbound.some((c) => c.direction === 'outbound' && c.dstHbone === `${topo.pod('server').ip}:8080`),
        ).toBe(true);
        putPolicies(
          store,
          policy({ name: 'deny-now', action: 'DENY', principals: ['cluster.local/ns/default/sa/client'] }),
        );
        try {
          await closed;
          s.destroy();
          ns.close();
        } finally {
          removePolicies(store, 'default/deny-now');
        }
      });

      it('HBONE answers 200 only after the app accepted; 400 for a foreign authority, 503 for a closed port, 401 when denied', async () => {
        // A client speaking HBONE directly from the client pod (marked, so not captured).
        const ns = Netns.open(topo.pod('client').netnsPath);
        const m = await testIdentity(ca).material('spiffe://cluster.local/ns/default/sa/client');
        const pool = createHbonePool({
          credentials: staticCredentials({
            identity: m.identity,
            certChainPem: m.chainPem,
            keyPem: m.keyPem,
            rootsPem: m.rootsPem,
          }),
          connect: (hop) => connectIn(ns, { host: hop.host, port: hop.port, mark: 0x539 }),
          connectTimeoutMs: 5000,
          handshakeTimeoutMs: 5000,
          responseTimeoutMs: 5000,
        });
        const server = topo.pod('server').ip;
        const status = (authority: string) =>
          pool
            .open({
              nextHop: { host: server, port: 15008 },
              authority,
              expectedIdentities: ['spiffe://cluster.local/ns/default/sa/server'],
            })
            .then(
              (t) => {
                t.stream.destroy();
                return t.status;
              },
              (err: { status?: number }) => err.status,
            );
        try {
          expect(await status(`${server}:8080`)).toBe(200);
          expect(await status(`${topo.pod('server2').ip}:8080`)).toBe(400);
          expect(await status(`${server}:9`)).toBe(503);
          putPolicies(store, policy({ name: 'deny-9', action: 'DENY', ports: [8080] }));
          expect(await status(`${server}:8080`)).toBe(401);
        } finally {
          removePolicies(store, 'default/deny-9');
          await pool.close();
          ns.close();
        }
      });

      it.skipIf(workers > 0)(
        'a blocked HBONE port is reported with a hint in the access log (checked on the main thread, where the test reads the log)',
        async () => {
          // Discovery says the outsider is a mesh pod, but no agent listens on its 15008.
          putWorkloads(store, workload({ name: 'ghost', ip: topo.pod('outsider').ip, node: 'n1' }));
          const r = await exchange(topo.pod('client').netnsPath, topo.pod('outsider').ip, 8080, 'x');
          expect(r.data).toBe('');
          const line = clientLog.find(
            (l) => l.includes('"dst.hbone_addr":"') && l.includes(topo.pod('outsider').ip),
          );
          expect(line).toMatch(/is a NetworkPolicy or firewall blocking TCP 15008/);
          store.apply('type.googleapis.com/istio.workload.Address', [], ['Kubernetes//Pod/default/ghost']);
        },
      );

      it.skipIf(workers === 0)(
        'a worker that dies is restarted and binds every pod again (worker-thread mode only)',
        async () => {
          await agents[1]?.recycleWorker(0);
          await agents[1]?.refreshStats();
          const dump = agents[1]?.configDump() as { workers: number };
          expect(dump.workers).toBe(2);
          for (let i = 0; i < 8; i++) {
            const r = await exchange(topo.pod('client').netnsPath, topo.pod('server').ip, 8080, `r${i}`);
            expect(r.data).toBe(`${topo.pod('client').ip}|r${i}`);
          }
        },
      );

      it('pod removal removes its rules; the pod then talks directly', async () => {
        const info = podInfo(topo.pod('server2'));
        await agents[1]?.handle({ type: 'del', uid: info.uid });
        const saved = await topo.exec(topo.pod('server2').netns, ['iptables-save']);
        expect(saved).not.toContain('WEFT_');
        // Plaintext straight to the app, from a pod outside the mesh.
        const r = await exchange(topo.pod('outsider').netnsPath, topo.pod('server2').ip, 8080, 'direct');
        expect(r.data).toBe(`${topo.pod('outsider').ip}|direct`);
        await agents[1]?.handle({ type: 'add', pod: info });
      });
    },
  );
}
