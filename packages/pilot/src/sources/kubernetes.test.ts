import { KubeConfig } from '@kubernetes/client-node';
import { silentLogger } from '@weft/telemetry';
import { FakeKubeApi, waitFor } from '@weft/testkit';
import { XdsClient } from '@weft/xds';
import { afterEach, describe, expect, it } from 'vitest';
import { Discovery } from '../discovery.js';
import { KubernetesSource } from './kubernetes.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ns = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels: { 'istio.io/dataplane-mode': 'ambient' } },
});
const pod = (name: string, ip: string, node = 'node1') => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'prod', labels: { app: name } },
  spec: { nodeName: node, serviceAccountName: name },
  status: { podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] },
});

async function setup(options: ConstructorParameters<typeof FakeKubeApi>[0] = {}) {
  const api = await FakeKubeApi.start(options);
  cleanups.push(() => api.close());
  api.apply(ns('prod'));
  api.apply(pod('orders', '10.44.1.10'));
  api.apply({
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'allow-web', namespace: 'prod' },
    spec: {
      selector: { matchLabels: { app: 'orders' } },
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/prod/sa/web'] } }] }],
    },
  });
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig());
  const source = new KubernetesSource({ kubeConfig: kc, logger: silentLogger() });
  const discovery = new Discovery({ sources: [source], debounceMs: 10 });
  cleanups.push(() => discovery.close());
  const server = discovery.createServer();
  await discovery.start();
  const port = await server.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => server.close());
  const client = new XdsClient({
    address: `127.0.0.1:${port}`,
    node: { id: 'n', nodeName: 'node1', role: 'node' },
  });
  client.start();
  cleanups.push(() => client.close());
  await client.whenSynced();
  return { api, source, discovery, client };
}

describe('KubernetesSource against the fake API server', () => {
  it('lists, then follows watch events from the list resourceVersion with bookmarks allowed', async () => {
    const { api, client } = await setup();
    expect(client.store.workloadByIp('10.44.1.10')?.authorizationPolicies).toEqual(['prod/allow-web']);
    const podWatch = api.requests.find((r) => r.path === '/api/v1/pods' && r.query.watch === 'true');
    expect(podWatch?.query.allowWatchBookmarks).toBe('true');
    expect(Number(podWatch?.query.resourceVersion)).toBeGreaterThan(100);

    api.apply(pod('payments', '10.44.2.10', 'node2'));
    await waitFor(() => client.store.workloadByIp('10.44.2.10') !== undefined, { what: 'an ADDED pod' });
    api.apply({ ...pod('payments', '10.44.2.11', 'node2') });
    await waitFor(() => client.store.workloadByIp('10.44.2.11') !== undefined, { what: 'a MODIFIED pod' });
    api.delete('v1', 'Pod', 'prod', 'orders');
    await waitFor(() => client.store.workloadByIp('10.44.1.10') === undefined, { what: 'a DELETED pod' });
    api.delete('security.istio.io/v1', 'AuthorizationPolicy', 'prod', 'allow-web');
    await waitFor(() => !client.store.authorizations.has('prod/allow-web'), { what: 'a deleted policy' });
  });

  it('moves its resourceVersion forward on bookmarks and resumes from it after the watch drops', async () => {
    const { api, source, client } = await setup();
    // Writes to other kinds advance the global resourceVersion; the pod watch only learns it by bookmark.
    for (let i = 0; i < 3; i++)
      api.apply({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: `sa${i}`, namespace: 'prod' },
      });
    api.bookmark();
    await waitFor(() => source.stats()['v1/Pod']?.resourceVersion === `${api.resourceVersion}`, {
      what: 'the bookmark',
    });
    expect(source.stats()['v1/Pod']?.bookmarks).toBeGreaterThanOrEqual(1);
    const rv = api.resourceVersion;
    api.closeWatches();
    await waitFor(
      () =>
        api.requests.some(
          (r) => r.path === '/api/v1/pods' && r.query.watch === 'true' && r.query.resourceVersion === `${rv}`,
        ),
      { what: 'the watch to resume from the bookmarked resourceVersion' },
    );
    expect(source.stats()['v1/Pod']?.lists).toBe(1); // resumed, no relist
    api.apply(pod('late', '10.44.1.99'));
    await waitFor(() => client.store.workloadByIp('10.44.1.99') !== undefined, {
      what: 'events after the resume',
    });
  });

  it('relists after 410 Gone and converges on what changed while it was away', async () => {
    const { api, source, client } = await setup();
    api.closeWatches();
    // While the watches are down: changes, then compaction, so the old resourceVersion is gone.
    api.delete('v1', 'Pod', 'prod', 'orders');
    api.apply(pod('fresh', '10.44.1.77'));
    api.compact();
    await waitFor(
      () => (source.stats()['v1/Pod']?.gone ?? 0) >= 1 || (source.stats()['v1/Pod']?.lists ?? 0) >= 2,
      {
        what: 'a 410 and a relist',
      },
    );
    await waitFor(
      () =>
        client.store.workloadByIp('10.44.1.77') !== undefined &&
        client.store.workloadByIp('10.44.1.10') === undefined,
      {
        what: 'the relisted state to reach the client',
      },
    );
    expect(source.stats()['v1/Pod']?.lists).toBeGreaterThanOrEqual(2);
  });

  it('treats a missing CRD (404) as empty and still syncs', async () => {
    const api = await FakeKubeApi.start();
    cleanups.push(() => api.close());
    const kc = new KubeConfig();
    kc.loadFromString(api.kubeconfig());
    const source = new KubernetesSource({
      kubeConfig: kc,
      types: [
        { path: '/api/v1/pods', apiVersion: 'v1', kind: 'Pod' },
        {
          path: '/apis/example.com/v1/widgets',
          apiVersion: 'example.com/v1',
          kind: 'Widget',
          optional: true,
        },
      ],
    });
    cleanups.push(() => source.close());
    await source.start(() => {});
    expect(source.snapshot().objects).toEqual([]);
  });
});
