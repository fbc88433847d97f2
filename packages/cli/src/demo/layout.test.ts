import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPod, layoutFromObjects, parseConfigTexts } from './layout.js';
import { hostsFile } from './network.js';

const CONFIG = new URL('../../../../deploy/examples/demo/config/', import.meta.url).pathname;
const files = readdirSync(CONFIG)
  .filter((n) => n.endsWith('.yaml'))
  .map((n) => ({ path: n, text: readFileSync(join(CONFIG, n), 'utf8') }));

describe('demo layout from the embedded config', () => {
  const layout = layoutFromObjects(parseConfigTexts(files));

  it("has two nodes with distinct host ports, node1 on ztunnel's 15020/15021", () => {
    expect(layout.nodes.map((n) => n.name)).toEqual(['node1', 'node2']);
    expect(layout.nodes[0]?.ports).toEqual({ admin: 15100, metrics: 15020, readiness: 15021 });
    expect(layout.nodes[1]?.ports).toEqual({ admin: 15200, metrics: 15120, readiness: 15121 });
  });

  it('places each pod on its node with its service account, IP and namespace name', () => {
    const web = findPod(layout, 'web');
    expect(web).toMatchObject({
      name: 'web-0',
      namespace: 'frontend',
      serviceAccount: 'web',
      node: 'node1',
      netns: 'weft-demo-web',
      role: 'app',
      appPort: 8080,
    });
    expect(findPod(layout, 'prod/payments-0')).toMatchObject({ node: 'node2', ip: '10.44.2.10' });
    expect(findPod(layout, 'waypoint')?.role).toBe('waypoint');
    expect(findPod(layout, 'outside')).toMatchObject({ role: 'outside', netns: 'weft-demo-outside' });
    expect(findPod(layout, 'nope')).toBeUndefined();
    expect(layout.waypointNamespace).toBe('prod');
  });

  it('recognises the ingress gateway pod (deploy/examples/demo/ingress)', () => {
    const ingress = readFileSync(
      new URL('../../../../deploy/examples/demo/ingress/ingress.yaml', import.meta.url),
      'utf8',
    );
    const withIngress = layoutFromObjects(
      parseConfigTexts([...files, { path: 'ingress.yaml', text: ingress }]),
    );
    expect(findPod(withIngress, 'ingress')).toMatchObject({
      namespace: 'istio-system',
      serviceAccount: 'istio-ingressgateway',
      role: 'ingress',
      appPort: 80,
      node: 'node1',
      netns: 'weft-demo-ingress',
    });
  });

  it('resolves Service names to their VIPs inside pods', () => {
    const hosts = hostsFile(layout);
    expect(hosts).toContain('10.96.0.11 payments.prod.svc.cluster.local payments.prod');
    expect(hosts).toContain('10.44.2.10 payments-0.prod.pod');
  });

  it('rejects pods it cannot place, naming them', () => {
    const bad = parseConfigTexts([
      {
        path: 'x.yaml',
        text: 'kind: Node\nmetadata: {name: node1}\n---\nkind: Pod\nmetadata: {name: a, namespace: b}\nspec: {nodeName: node1}\n',
      },
    ]);
    expect(() => layoutFromObjects(bad)).toThrow(/b\/a needs spec.nodeName, status.podIP/);
    const wrongCidr = parseConfigTexts([
      {
        path: 'x.yaml',
        text: 'kind: Node\nmetadata: {name: node1}\n---\nkind: Pod\nmetadata: {name: a, namespace: b, annotations: {weft.dev/netns: weft-demo-a}}\nspec: {nodeName: node1}\nstatus: {podIP: 10.9.9.9}\n',
      },
    ]);
    expect(() => layoutFromObjects(wrongCidr)).toThrow(/outside node1's 10.44.1.0\/24/);
    expect(() => parseConfigTexts([{ path: 'y.yaml', text: 'a: [' }])).toThrow(/y.yaml/);
  });
});
