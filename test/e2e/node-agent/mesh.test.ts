/**
 * weft-node e2e: two node namespaces, each with its own weft-node process, weft-pilot serving a YAML
 * directory the test writes, echo apps in pod namespaces. Root only (skips with the reason otherwise).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectIn, Netns } from '@weft/netns';
import { commandsSkipReason, rootSkipReason, spawnApp, waitFor } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, exchange, Mesh } from './harness.js';

const skip = rootSkipReason() ?? commandsSkipReason(['nsenter', 'iptables-restore', 'tcpdump', 'tshark']);
if (skip !== undefined) console.warn(`[e2e node-agent] skipping: ${skip}`);

const VIP = '10.96.0.10';

describe.skipIf(skip !== undefined)('weft-node mesh over network namespaces (root)', () => {
  let mesh: Mesh;
  const ip = (pod: string) => mesh.pod(pod).ip;
  const from = (pod: string, to: string, port: number, payload: string) =>
    exchange(mesh.pod(pod).netnsPath, to.includes('.') ? to : ip(to), port, payload);
  const echo = (pod: string, port: number, payload: string) => `${port}|${ip(pod)}|${payload}`;

  beforeAll(async () => {
    mesh = await Mesh.create(
      [
        { name: 'client', namespace: 'shop', sa: 'client', node: 'node1' },
        { name: 'other', namespace: 'shop', sa: 'other', node: 'node1' },
        { name: 'server', namespace: 'shop', sa: 'server', node: 'node2', labels: { tier: 'backend' } },
        { name: 'server2', namespace: 'shop', sa: 'server', node: 'node1', labels: { tier: 'backend' } },
      ],
      { outsiders: ['outsider', 'optout'] },
    );
    mesh.writeConfig(
      '10-service.yaml',
      `apiVersion: v1
kind: Service
metadata:
  name: backend
  namespace: shop
spec:
  clusterIP: ${VIP}
  selector:
    tier: backend
  ports:
    - name: tcp
      port: 80
      targetPort: 8080
`,
    );
    await mesh.startPilot();
    await mesh.startApp('server', [8080, 8081]);
    await mesh.startApp('server2', [8080, 8081]);
    await mesh.startApp('optout', [8080]);
    for (const node of ['node1', 'node2'] as const) {
      await mesh.startAgent(node);
      await mesh.enroll(node);
    }
  });

  afterAll(async () => {
    await mesh?.destroy();
  });

  it('a) pod to pod across nodes over HBONE: data arrives, the server sees the client IP, the wire shows only TLS', async () => {
    const node1 = mesh.topo.node('node1');
    const pcap = join(mesh.dir, 'link.pcap');
    const tcpdump = await spawnApp({
      name: 'tcpdump',
      command: 'tcpdump',
      args: ['-i', node1.linkInterface, '-n', '-U', '--immediate-mode', '-w', pcap, 'tcp'],
      netns: node1.netns,
      ready: { logLine: /listening on/ },
    });
    const marker = `WEFT-MARKER-${Math.random().toString(36).slice(2)}`;
    const payload = `${marker} `.repeat(200);
    const r = await from('client', 'server', 8080, payload);
    await tcpdump.stop();
    expect(r).toEqual({ data: echo('client', 8080, payload) });
    const tshark = (filter: string) =>
      mesh.topo
        .exec(node1.netns, ['tshark', '-r', pcap, '-Y', filter])
        .then((out) => out.split('\n').filter((l) => l.trim() !== '').length);
    expect(await tshark(`frame contains "${marker}"`)).toBe(0);
    expect(await tshark('tls')).toBeGreaterThan(0);
    expect(await tshark('tcp.port == 15008')).toBeGreaterThan(0);
  });

  it('d) a service VIP is balanced across endpoints on both nodes', async () => {
    for (let i = 0; i < 20; i++) {
      const r = await from('client', VIP, 80, `v${i}`);
      expect(r.data).toBe(echo('client', 8080, `v${i}`));
    }
    // The client's agent reports (reporter="source") which endpoint each connection went to.
    const agent = mesh.agents.get('node1');
    const text = await (await fetch(`http://127.0.0.1:${agent?.metricsPort}/metrics`)).text();
    const opened = (workload: string) =>
      text
        .split('\n')
        .filter(
          (l) =>
            l.startsWith('istio_tcp_connections_opened_total{') &&
            l.includes('reporter="source"') &&
            l.includes('destination_service="backend.shop.svc.cluster.local"') &&
            l.includes(`destination_workload="${workload}"`),
        )
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    expect(opened('server')).toBeGreaterThan(0); // on node2
    expect(opened('server2')).toBeGreaterThan(0); // on node1
    expect(opened('server') + opened('server2')).toBe(20);
  });

  it('b) PERMISSIVE accepts plaintext from outside the mesh; STRICT refuses it; a port-level override reopens one port', async () => {
    expect(await from('outsider', 'server', 8080, 'p1')).toEqual({ data: echo('outsider', 8080, 'p1') });
    mesh.writeConfig(
      '20-strict.yaml',
      `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: shop
spec:
  mtls:
    mode: STRICT
`,
    );
    await eventually(
      'STRICT refuses plaintext',
      () => from('outsider', 'server', 8080, 'p2'),
      (r) => r.data === '',
    );
    expect(await from('client', 'server', 8080, 'm')).toEqual({ data: echo('client', 8080, 'm') });
    mesh.writeConfig(
      '21-port-override.yaml',
      `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: server-8081
  namespace: shop
spec:
  selector:
    matchLabels:
      app: server
  mtls:
    mode: STRICT
  portLevelMtls:
    8081:
      mode: PERMISSIVE
`,
    );
    await eventually(
      'port 8081 PERMISSIVE',
      () => from('outsider', 'server', 8081, 'p3'),
      (r) => r.data === echo('outsider', 8081, 'p3'),
    );
    expect((await from('outsider', 'server', 8080, 'p4')).data).toBe('');
    mesh.removeConfig('21-port-override.yaml');
    mesh.removeConfig('20-strict.yaml');
    await eventually(
      'back to PERMISSIVE',
      () => from('outsider', 'server', 8080, 'p5'),
      (r) => r.data === echo('outsider', 8080, 'p5'),
    );
  });

  it('c) L4 ALLOW by principal and by port; DENY beats ALLOW; spec: {} denies all', async () => {
    const policy = (name: string, spec: string) =>
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ${name}
  namespace: shop
spec:
${spec}`;
    mesh.writeConfig(
      '30-allow-client.yaml',
      policy(
        'allow-client',
        `  selector:
    matchLabels:
      app: server
  action: ALLOW
  rules:
    - from:
        - source:
            principals: ["cluster.local/ns/shop/sa/client"]
      to:
        - operation:
            ports: ["8080"]
`,
      ),
    );
    await eventually(
      'other is denied',
      () => from('other', 'server', 8080, 'o'),
      (r) => r.data === '',
    );
    expect(await from('client', 'server', 8080, 'c1')).toEqual({ data: echo('client', 8080, 'c1') });
    expect((await from('client', 'server', 8081, 'c2')).data).toBe(''); // port not allowed
    expect((await from('outsider', 'server', 8080, 'c3')).data).toBe(''); // no identity
    mesh.writeConfig(
      '31-deny-client.yaml',
      policy(
        'deny-client',
        `  selector:
    matchLabels:
      app: server
  action: DENY
  rules:
    - from:
        - source:
            principals: ["cluster.local/ns/shop/sa/client"]
`,
      ),
    );
    await eventually(
      'DENY beats ALLOW',
      () => from('client', 'server', 8080, 'c4'),
      (r) => r.data === '',
    );
    mesh.removeConfig('31-deny-client.yaml');
    mesh.removeConfig('30-allow-client.yaml');
    await eventually(
      'open again',
      () => from('other', 'server', 8080, 'o2'),
      (r) => r.data === echo('other', 8080, 'o2'),
    );
    mesh.writeConfig('32-deny-all.yaml', policy('deny-all', '  {}\n'));
    await eventually(
      'spec: {} denies all',
      () => from('client', 'server', 8080, 'c5'),
      (r) => r.data === '',
    );
    mesh.removeConfig('32-deny-all.yaml');
    await eventually(
      'open again',
      () => from('client', 'server', 8080, 'c6'),
      (r) => r.data === echo('client', 8080, 'c6'),
    );
    // The access log says which policy denied.
    const log = mesh.agents.get('node2')?.app.output() ?? '';
    expect(log).toMatch(/policy rejection: explicitly denied by: shop\/deny-client/);
  });

  it('e) a policy change closes an open, now-denied connection', async () => {
    const ns = Netns.open(mesh.pod('client').netnsPath);
    const s = connectIn(ns, { host: ip('server'), port: 8080 });
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      data += d;
    });
    s.on('error', () => undefined);
    const ended = new Promise<void>((resolve) => {
      s.once('end', () => resolve());
      s.once('close', () => resolve());
    });
    s.write('open');
    await waitFor(() => data.endsWith('open'), { what: 'echo on the open connection' });
    mesh.writeConfig(
      '40-deny-client.yaml',
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-client-now
  namespace: shop
spec:
  action: DENY
  rules:
    - from:
        - source:
            principals: ["cluster.local/ns/shop/sa/client"]
`,
    );
    await ended;
    s.destroy();
    ns.close();
    mesh.removeConfig('40-deny-client.yaml');
    await eventually(
      'open again',
      () => from('client', 'server', 8080, 'e2'),
      (r) => r.data === echo('client', 8080, 'e2'),
    );
    expect(mesh.agents.get('node2')?.app.output()).toMatch(
      /connection closed due to policy change: explicitly denied by: shop\/deny-client-now/,
    );
  });

  it('h) an opted-out pod is not captured; a removed pod loses its rules and talks directly', async () => {
    const optout = mesh.pod('optout');
    const ack = await mesh.lifecycle('node1', {
      type: 'add',
      uid: 'uid-optout',
      name: 'optout',
      namespace: 'shop',
      serviceAccount: 'optout',
      netnsPath: optout.netnsPath,
      ips: [optout.ip],
      labels: { 'istio.io/dataplane-mode': 'none' },
    });
    expect(ack).toEqual({ ok: true });
    expect(await mesh.topo.exec(optout.netns, ['iptables-save'])).not.toContain('WEFT_');
    expect(await from('outsider', 'optout', 8080, 'x')).toEqual({ data: echo('outsider', 8080, 'x') });

    const server2 = mesh.pod('server2');
    expect(await mesh.topo.exec(server2.netns, ['iptables-save'])).toContain('WEFT_');
    expect(await mesh.lifecycle('node1', { type: 'del', uid: 'uid-server2' })).toEqual({ ok: true });
    expect(await mesh.topo.exec(server2.netns, ['iptables-save'])).not.toContain('WEFT_');
    expect(await from('outsider', 'server2', 8080, 'y')).toEqual({ data: echo('outsider', 8080, 'y') });
    expect(await mesh.lifecycle('node1', { type: 'add', pod: mesh.podInfo('server2') })).toEqual({
      ok: true,
    });
  });

  it('f) agent handover and restart: new connections keep working; with pilot stopped traffic keeps flowing', async () => {
    // Handover: a new agent binds beside the old one (SO_REUSEPORT), then the old one drains.
    const old = mesh.agents.get('node2');
    const fresh = await mesh.startAgent('node2');
    await mesh.enroll('node2');
    let failures = 0;
    let done = false;
    const traffic = (async () => {
      let i = 0;
      while (!done) {
        const r = await from('client', 'server', 8080, `h${i}`);
        if (r.data !== echo('client', 8080, `h${i}`)) failures++;
        i++;
      }
      return i;
    })();
    // SIGTERM: the old agent drains (GOAWAY, DRAIN_SECONDS=1) and exits by itself, well before SIGKILL.
    const exit = await old?.app.stop(8000);
    expect(exit).toEqual({ code: 0, signal: null });
    await new Promise((r) => setTimeout(r, 300)); // keep traffic flowing a little after the old agent left
    done = true;
    const count = await traffic;
    expect(count).toBeGreaterThan(0);
    expect(failures).toBe(0);
    expect(mesh.agents.get('node2')).toBe(fresh);
    // The new agent re-enrolled the node's pods from the state file before the snapshot came.
    expect(fresh.app.output()).toMatch(/pods restored from the state file/);
    // The capture rules survived the old agent: the pod stayed captured (fail closed), and works now.
    expect(await mesh.topo.exec(mesh.pod('server').netns, ['iptables-save'])).toContain('WEFT_');

    // Pilot down: the agents keep serving the last state.
    await mesh.stopPilot();
    expect(await from('client', 'server', 8080, 'nopilot')).toEqual({
      data: echo('client', 8080, 'nopilot'),
    });
    expect(await from('client', VIP, 80, 'nopilot-vip')).toEqual({
      data: echo('client', 8080, 'nopilot-vip'),
    });
    await mesh.startPilot();
  });

  it('fail closed: with no agent, a captured pod cannot reach anything in plaintext', async () => {
    await mesh.stopAgent('node1');
    const r = await from('client', 'server', 8080, 'leak?');
    expect(r.data).toBe('');
    const root = readFileSync(join(mesh.caDir, 'root-cert.pem'), 'utf8');
    expect(root).toContain('BEGIN CERTIFICATE');
    await mesh.startAgent('node1');
    await mesh.enroll('node1');
    await eventually(
      'node1 back',
      () => from('client', 'server', 8080, 'back'),
      (x) => x.data === echo('client', 8080, 'back'),
    );
  });

  it('g) short-lived certificates rotate under steady connections with zero failures', async () => {
    // Replace both agents (handover) by ones asking for 6 s certificates: renewed every ~3 s.
    for (const node of ['node1', 'node2'] as const) {
      const old = mesh.agents.get(node);
      await mesh.startAgent(node, { SECRET_TTL: '6s' });
      await mesh.enroll(node);
      await old?.app.stop();
    }
    const serials = async () => {
      const agent = mesh.agents.get('node2');
      const dump = (await (await fetch(`http://127.0.0.1:${agent?.adminPort}/config_dump`)).json()) as {
        certificates: { identity: string; serial?: string }[];
      };
      return dump.certificates.find((c) => c.identity.endsWith('/sa/server'))?.serial;
    };
    const first = await serials();
    // One long-lived connection plus a new connection every few ms, for 8 s (two rotations or more).
    const ns = Netns.open(mesh.pod('client').netnsPath);
    const long = connectIn(ns, { host: ip('server'), port: 8080 });
    let longData = '';
    long.setEncoding('utf8');
    long.on('data', (d: string) => {
      longData += d;
    });
    let longError: Error | undefined;
    long.on('error', (e) => {
      longError = e;
    });
    let failures = 0;
    let total = 0;
    const until = Date.now() + 8000;
    let tick = 0;
    while (Date.now() < until) {
      const r = await from('client', 'server', 8080, `g${total}`);
      if (r.data !== echo('client', 8080, `g${total}`)) failures++;
      total++;
      long.write(`t${tick++};`);
      await new Promise((r2) => setTimeout(r2, 20));
    }
    const last = await serials();
    await waitFor(() => longData.endsWith(`t${tick - 1};`), { what: 'long connection echo' });
    long.destroy();
    ns.close();
    expect(longError).toBeUndefined();
    expect(total).toBeGreaterThan(20);
    expect(failures).toBe(0);
    expect(first).toBeDefined();
    expect(last).not.toBe(first);
  });
});
