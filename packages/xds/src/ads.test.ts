import type { Authorization, ConfigObject, DiscoveryState, Service, Workload } from '@weft/config';
import { createRegistry } from '@weft/telemetry';
import { freePort, TestCa, waitFor } from '@weft/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { XdsClient, type XdsClientOptions } from './client.js';
import { diffStates, roleFilter, stateToResources } from './resources.js';
import { XdsServer, type XdsServerOptions } from './server.js';
import { TYPE_ADDRESS, TYPE_AUTHORIZATION, TYPE_CONFIG } from './types.js';

function workload(name: string, ip: string, node = 'node1'): Workload {
  return {
    uid: `Kubernetes//Pod/prod/${name}`,
    name,
    namespace: 'prod',
    addresses: [ip],
    network: '',
    tunnelProtocol: 'HBONE',
    trustDomain: 'cluster.local',
    serviceAccount: name,
    node,
    canonicalName: name,
    canonicalRevision: 'latest',
    workloadType: 'POD',
    workloadName: name,
    services: {},
    authorizationPolicies: [],
    status: 'HEALTHY',
    clusterId: 'Kubernetes',
  };
}

const service: Service = {
  name: 'orders',
  namespace: 'prod',
  hostname: 'orders.prod.svc.cluster.local',
  addresses: [{ network: '', ip: '10.96.0.10' }],
  ports: [{ servicePort: 80, targetPort: 8080, appProtocol: 'UNKNOWN' }],
  subjectAltNames: [],
  ingressUseWaypoint: false,
};

const policy: Authorization = {
  name: 'deny-all',
  namespace: 'prod',
  scope: 'NAMESPACE',
  action: 'ALLOW',
  rules: [],
  dryRun: false,
};

const secret: ConfigObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  namespace: 'istio-system',
  name: 'cred',
  object: { data: { 'tls.crt': 'x' } },
};
const gateway: ConfigObject = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'Gateway',
  namespace: 'istio-system',
  name: 'ingress',
  object: { spec: {} },
};

function state(workloads: Workload[], extra: Partial<DiscoveryState> = {}): DiscoveryState {
  return {
    workloads: new Map(workloads.map((w) => [w.uid, w])),
    services: extra.services ?? new Map([['prod/orders.prod.svc.cluster.local', service]]),
    authorizations: extra.authorizations ?? new Map([['prod/deny-all', policy]]),
    configs:
      extra.configs ??
      new Map([
        ['Secret/istio-system/cred', secret],
        ['Gateway/istio-system/ingress', gateway],
      ]),
  };
}

function publish(server: XdsServer, s: DiscoveryState): void {
  for (const [typeUrl, resources] of stateToResources(s)) server.setResources(typeUrl, resources);
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer(
  options: XdsServerOptions = {},
  port = 0,
  tls?: Parameters<XdsServer['listen']>[0]['tls'],
) {
  const server = new XdsServer({ filter: (c, t, _n, r) => roleFilter(c.node.role, t, r), ...options });
  const bound = await server.listen({ port, host: '127.0.0.1', ...(tls === undefined ? {} : { tls }) });
  cleanups.push(() => server.close());
  return { server, port: bound };
}

function startClient(port: number, overrides: Partial<XdsClientOptions> = {}): XdsClient {
  const client = new XdsClient({
    address: `127.0.0.1:${port}`,
    node: { id: 'ztunnel~10.0.0.1~agent.weft~weft.svc.cluster.local', nodeName: 'node1', role: 'node' },
    ...overrides,
  });
  client.start();
  cleanups.push(() => client.close());
  return client;
}

describe('delta ADS server and client', () => {
  it('syncs every subscribed type, indexes IPs, and pushes updates and removals', async () => {
    const { server, port } = await startServer();
    publish(server, state([workload('orders', '10.44.1.10'), workload('web', '10.44.2.10', 'node2')]));
    const client = startClient(port);
    await client.whenSynced();
    expect(client.store.workloads.size).toBe(2);
    expect(client.store.services.size).toBe(1);
    expect(client.store.authorizations.get('prod/deny-all')).toEqual(policy);
    expect(client.store.configs.size).toBe(0); // node agents do not subscribe to raw config
    expect(client.store.workloadByIp('10.44.2.10')?.name).toBe('web');
    expect(client.store.serviceByIp('10.96.0.10')?.name).toBe('orders');
    expect(client.store.workloadsOnNode('node2').map((w) => w.name)).toEqual(['web']);

    const changes: string[] = [];
    client.store.onChange((c) => changes.push(`${c.typeUrl}:${c.updated.join(',')}-${c.removed.join(',')}`));
    publish(server, state([workload('orders', '10.44.1.11')]));
    await waitFor(
      () => client.store.workloads.size === 1 && client.store.workloadByIp('10.44.1.11') !== undefined,
    );
    expect(client.store.workloadByIp('10.44.1.10')).toBeUndefined();
    expect(client.store.workloadsOnNode('node2')).toEqual([]);
    expect(changes).toEqual([`${TYPE_ADDRESS}:Kubernetes//Pod/prod/orders-Kubernetes//Pod/prod/web`]);
    await server.whenQuiescent();
    expect(server.clients()[0]?.node.nodeName).toBe('node1');
    expect(server.clients()[0]?.node.role).toBe('node');
  });

  it('sends raw config to waypoints without Secrets, and Secrets to gateways', async () => {
    const { server, port } = await startServer();
    publish(server, state([]));
    const waypoint = startClient(port, { node: { id: 'waypoint', nodeName: 'node1', role: 'waypoint' } });
    const gw = startClient(port, { node: { id: 'gateway', nodeName: 'node1', role: 'gateway' } });
    await Promise.all([waypoint.whenSynced(), gw.whenSynced()]);
    expect([...waypoint.store.configs.keys()]).toEqual(['Gateway/istio-system/ingress']);
    expect([...gw.store.configs.keys()].sort()).toEqual([
      'Gateway/istio-system/ingress',
      'Secret/istio-system/cred',
    ]);
  });

  it('a client NACK keeps its previous state and does not stop pushes to others', async () => {
    const registry = createRegistry({ processMetrics: false });
    const { server, port } = await startServer({ registry });
    publish(server, state([workload('orders', '10.44.1.10')]));
    const picky = startClient(port, {
      validate: (r) =>
        r.typeUrl === TYPE_ADDRESS && r.value.kind === 'workload' && r.value.workload.name === 'bad'
          ? 'no bad pods'
          : undefined,
    });
    const other = startClient(port, { node: { id: 'other', nodeName: 'node2', role: 'node' } });
    await Promise.all([picky.whenSynced(), other.whenSynced()]);

    publish(server, state([workload('orders', '10.44.1.10'), workload('bad', '10.44.1.66')]));
    await waitFor(() => other.store.workloads.size === 2, { what: 'the other client to receive the push' });
    await waitFor(() => picky.stats.nacks === 1, { what: 'the NACK' });
    await server.whenQuiescent();
    expect(picky.store.workloads.size).toBe(1); // nothing of the rejected response applied
    expect(picky.stats.lastNack).toMatch(/no bad pods/);
    const snapshot = server.clients().find((c) => c.node.id.startsWith('ztunnel'));
    expect(snapshot?.nacks).toBe(1);
    expect(await registry.getSingleMetricAsString('pilot_total_xds_rejects')).toMatch(
      /type="istio.workload.Address"} 1/,
    );

    // The next change is accepted by both, and the once-rejected name is resent when it becomes valid.
    publish(server, state([workload('orders', '10.44.1.10'), workload('fixed', '10.44.1.66')]));
    await waitFor(() => picky.store.workloadByIp('10.44.1.66')?.name === 'fixed');
    await waitFor(() => other.store.workloadByIp('10.44.1.66')?.name === 'fixed');
  });

  it('keeps serving the last state while pilot is down and resyncs with initial_resource_versions', async () => {
    const first = await startServer();
    publish(first.server, state([workload('a', '10.44.1.1'), workload('b', '10.44.1.2')]));
    const client = startClient(first.port, { backoff: { initialMs: 10, maxMs: 100 } });
    await client.whenSynced();
    await first.server.close();
    await waitFor(() => !client.connected, { what: 'the client to notice pilot is gone' });
    expect(client.store.workloads.size).toBe(2); // last state kept

    // pilot restarts on the same port with b removed and c added; a is unchanged.
    const second = await startServer({}, first.port);
    publish(second.server, state([workload('a', '10.44.1.1'), workload('c', '10.44.1.3')]));
    const seen: string[] = [];
    client.store.onChange((c) => {
      if (c.typeUrl === TYPE_ADDRESS)
        seen.push(...c.updated.map((n) => `+${n}`), ...c.removed.map((n) => `-${n}`));
    });
    await waitFor(
      () =>
        client.store.workloads.has('Kubernetes//Pod/prod/c') &&
        !client.store.workloads.has('Kubernetes//Pod/prod/b'),
      {
        what: 'the resync',
      },
    );
    // Only the difference travelled: a was not resent.
    expect(seen.sort()).toEqual(['+Kubernetes//Pod/prod/c', '-Kubernetes//Pod/prod/b']);
    expect(client.stats.connects).toBeGreaterThanOrEqual(2);
  });

  it('serves over TLS and refuses streams the authenticator rejects', async () => {
    const ca = await TestCa.create();
    const serving = await ca.issue({ dnsNames: ['weft-pilot.weft-system.svc'], ipAddresses: ['127.0.0.1'] });
    const port = await freePort();
    const { server } = await startServer(
      {
        authenticate: ({ metadata }) => {
          if (metadata.get('authorization')[0] !== 'Bearer node1-token') throw new Error('unknown token');
          return 'node1';
        },
      },
      port,
      { cert: serving.chainPem, key: serving.keyPem },
    );
    publish(server, state([workload('orders', '10.44.1.10')]));
    const good = startClient(port, { tls: { ca: ca.rootPem }, token: () => 'node1-token' });
    await good.whenSynced();
    expect(good.store.workloads.size).toBe(1);

    const bad = startClient(port, {
      tls: { ca: ca.rootPem },
      token: () => 'wrong',
      backoff: { initialMs: 50, maxMs: 50 },
    });
    await waitFor(() => bad.stats.connects >= 2, { what: 'a refused client to retry' });
    expect(bad.synced).toBe(false);
    expect(server.clients()).toHaveLength(1);
  });

  it('answers an empty type so a client with nothing to receive still becomes synced', async () => {
    const { server, port } = await startServer();
    server.setResources(TYPE_AUTHORIZATION, new Map());
    const client = startClient(port, { types: [TYPE_AUTHORIZATION, TYPE_CONFIG] });
    await client.whenSynced();
    expect(client.synced).toBe(true);
  });

  it('pushes only what differs between two states (diffStates + updateResources)', async () => {
    const { server, port } = await startServer();
    const orders = workload('orders', '10.44.1.10');
    const web = workload('web', '10.44.2.10', 'node2');
    const first = state([orders, web]);
    const apply = (previous: DiscoveryState | undefined, next: DiscoveryState) => {
      for (const [typeUrl, d] of diffStates(previous, next))
        server.updateResources(typeUrl, d.upserts, d.removed);
    };
    apply(undefined, first);
    const client = startClient(port);
    const gw = startClient(port, { node: { id: 'gateway', nodeName: 'node1', role: 'gateway' } });
    await Promise.all([client.whenSynced(), gw.whenSynced()]);
    expect(client.store.workloads.size).toBe(2);
    expect(client.store.services.size).toBe(1);
    expect(gw.store.configs.size).toBe(2);

    // Unchanged objects are the same instances (as translation hands them back): nothing of them is diffed in.
    const moved = { ...web, addresses: ['10.44.2.11'] };
    const second = state([orders, moved, workload('new', '10.44.3.1')], {
      services: first.services,
      authorizations: new Map(),
      configs: new Map([['Gateway/istio-system/ingress', gateway]]),
    });
    const deltas = diffStates(first, second);
    expect([...(deltas.get(TYPE_ADDRESS)?.upserts.keys() ?? [])].sort()).toEqual([
      'Kubernetes//Pod/prod/new',
      'Kubernetes//Pod/prod/web',
    ]);
    expect(deltas.get(TYPE_AUTHORIZATION)?.removed).toEqual(['prod/deny-all']);
    expect(deltas.get(TYPE_CONFIG)?.removed).toEqual(['Secret/istio-system/cred']);

    const seen: string[] = [];
    client.store.onChange((c) =>
      seen.push(...c.updated.map((n) => `+${n}`), ...c.removed.map((n) => `-${n}`)),
    );
    apply(first, second);
    await waitFor(
      () => client.store.workloadByIp('10.44.2.11') !== undefined && client.store.authorizations.size === 0,
    );
    await waitFor(() => gw.store.configs.size === 1, { what: 'the Secret removal at the gateway' });
    expect(client.store.workloadByIp('10.44.2.10')).toBeUndefined();
    expect(client.store.workloads.size).toBe(3);
    expect(seen.sort()).toEqual(['+Kubernetes//Pod/prod/new', '+Kubernetes//Pod/prod/web', '-prod/deny-all']);
    // The server's full view matches the state, as setResources would have left it.
    expect([...server.resources(TYPE_ADDRESS).keys()].sort()).toEqual(
      [...(stateToResources(second).get(TYPE_ADDRESS)?.keys() ?? [])].sort(),
    );

    // A difference that changes nothing on the wire (same bytes) pushes nothing.
    const responses = client.stats.responses;
    apply(second, { ...second, workloads: new Map([...second.workloads].map(([k, w]) => [k, { ...w }])) });
    publish(server, state([]));
    await waitFor(() => client.store.workloads.size === 0, { what: 'the next real push' });
    expect(client.stats.responses).toBe(responses + 2); // the emptying Address and Authorization pushes only
  });
});
