import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeConfig, compileConfig, parseFiles } from './pipeline.js';

const demoDir = join(import.meta.dirname, '../../../deploy/examples/demo/config');

function compile(yaml: string) {
  const parsed = parseFiles([{ path: 'test.yaml', text: yaml }]);
  return compileConfig(parsed.objects, {}, parsed.problems);
}

function demo() {
  const files = readdirSync(demoDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => ({ path: f, text: readFileSync(join(demoDir, f), 'utf8') }));
  const parsed = parseFiles(files);
  return compileConfig(parsed.objects, {}, parsed.problems);
}

const ns = (name: string, labels: Record<string, string> = {}) =>
  `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n  labels: ${JSON.stringify(labels)}\n---\n`;
const pod = (
  name: string,
  namespace: string,
  ip: string,
  extra: { labels?: Record<string, string>; sa?: string; node?: string } = {},
) =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\n  labels: ${JSON.stringify(extra.labels ?? {})}\nspec:\n  nodeName: ${extra.node ?? 'node1'}\n  serviceAccountName: ${extra.sa ?? 'default'}\nstatus:\n  podIP: ${ip}\n---\n`;

describe('ambient translation', () => {
  it('translates the demo: enrollment, identities, nodes, VIPs, ports, waypoint, policies', () => {
    const c = demo();
    expect(c.problems).toEqual([]);
    const { workloads, services, authorizations } = c.translation.state;
    const orders = workloads.get('Kubernetes//Pod/prod/orders-0');
    expect(orders).toMatchObject({
      addresses: ['10.44.1.10'],
      tunnelProtocol: 'HBONE',
      serviceAccount: 'orders',
      node: 'node1',
      netns: 'weft-demo-orders',
      canonicalName: 'orders',
      canonicalRevision: 'v1',
    });
    // Named targetPort resolved against the pod's container port.
    expect(orders?.services).toEqual({
      'prod/orders.prod.svc.cluster.local': [{ servicePort: 80, targetPort: 8080, appProtocol: 'HTTP11' }],
    });
    // The selector policy and the mesh-wide STRICT (as the static DENY-plaintext policy) apply to it.
    expect(orders?.authorizationPolicies).toEqual([
      'istio-system/istio_converted_static_strict',
      'prod/orders-allow-web',
    ]);
    expect(authorizations.get('prod/orders-allow-web')?.scope).toBe('WORKLOAD_SELECTOR');
    expect(authorizations.has('istio-system/istio_converted_static_strict')).toBe(true);
    // targetRef (L7) policies are for the waypoint only.
    expect(authorizations.has('prod/payments-allow-orders')).toBe(false);
    expect(services.get('prod/payments.prod.svc.cluster.local')).toMatchObject({
      addresses: [{ network: '', ip: '10.96.0.11' }],
      waypoint: { address: { network: '', ip: '10.96.0.20' }, hboneMtlsPort: 15008 },
    });
    expect(services.get('prod/orders.prod.svc.cluster.local')?.waypoint).toBeUndefined();
    expect(services.get('prod/waypoint.prod.svc.cluster.local')?.waypoint).toBeUndefined();
    // L7 consumers get the raw policies and the Gateway.
    expect([...c.translation.state.configs.keys()].sort()).toEqual([
      'gateway.networking.k8s.io/Gateway/prod/waypoint',
      'security.istio.io/AuthorizationPolicy/prod/orders-allow-web',
      'security.istio.io/AuthorizationPolicy/prod/payments-allow-orders',
      'security.istio.io/PeerAuthentication/istio-system/default',
    ]);
  });

  it.each<[string, { dataplane?: string }, Record<string, string>, string]>([
    ['namespace ambient', { dataplane: 'ambient' }, {}, 'HBONE'],
    ['pod opts out with none', { dataplane: 'ambient' }, { 'istio.io/dataplane-mode': 'none' }, 'NONE'],
    ['pod opts in', {}, { 'istio.io/dataplane-mode': 'ambient' }, 'HBONE'],
    ['not enrolled', {}, {}, 'NONE'],
  ])('enrollment: %s', (_what, nsOpts, podLabels, tunnel) => {
    const labels: Record<string, string> =
      nsOpts.dataplane === undefined ? {} : { 'istio.io/dataplane-mode': nsOpts.dataplane };
    const c = compile(ns('a', labels) + pod('p', 'a', '10.0.0.1', { labels: podLabels }));
    expect(c.translation.state.workloads.get('Kubernetes//Pod/a/p')?.tunnelProtocol).toBe(tunnel);
  });

  it('uses EndpointSlices when present and the selector otherwise', () => {
    const yaml =
      ns('a', { 'istio.io/dataplane-mode': 'ambient' }) +
      pod('p1', 'a', '10.0.0.1', { labels: { app: 'x' } }) +
      pod('p2', 'a', '10.0.0.2', { labels: { app: 'x' } }) +
      'apiVersion: v1\nkind: Service\nmetadata: {name: svc, namespace: a}\nspec:\n  clusterIP: 10.96.0.1\n  selector: {app: x}\n  ports: [{name: web, port: 80, targetPort: 8080}]\n---\n' +
      'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: svc-abc, namespace: a, labels: {kubernetes.io/service-name: svc}}\nports: [{name: web, port: 9090}]\nendpoints: [{addresses: [10.0.0.2]}]\n';
    const c = compile(yaml);
    const w = c.translation.state.workloads;
    expect(w.get('Kubernetes//Pod/a/p1')?.services).toEqual({});
    expect(w.get('Kubernetes//Pod/a/p2')?.services).toEqual({
      'a/svc.a.svc.cluster.local': [{ servicePort: 80, targetPort: 9090, appProtocol: 'UNKNOWN' }],
    });
  });

  it('skips invalid objects with a located problem and keeps the valid rest', () => {
    const yaml =
      ns('a') +
      pod('good', 'a', '10.0.0.1') +
      pod('bad-ip', 'a', '10.0.0.300') +
      'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: bad, namespace: a}\nspec:\n  action: ALLOW\n  rules: [{from: [{source: {principals: ["spiffe://cluster.local/ns/a/sa/x"]}}]}]\n---\n' +
      pod('good', 'a', '10.0.0.9');
    const c = compile(yaml);
    expect([...c.translation.state.workloads.keys()]).toEqual(['Kubernetes//Pod/a/good']);
    expect(c.translation.state.workloads.get('Kubernetes//Pod/a/good')?.addresses).toEqual(['10.0.0.1']);
    const codes = c.problems.map((p) => `${p.code}@${p.location?.line}`);
    expect(codes).toContain('WEFT_CONFIG_INVALID_OBJECT@19');
    expect(codes.some((x) => x.startsWith('WEFT_POLICY_BAD_PRINCIPAL@'))).toBe(true);
    expect(codes.some((x) => x.startsWith('WEFT_CONFIG_DUPLICATE@'))).toBe(true);
  });
});

describe('analyzers', () => {
  const codes = (yaml: string) => analyzeConfig(compile(yaml)).map((p) => p.code);

  it('the demo is clean', () => {
    expect(analyzeConfig(demo())).toEqual([]);
  });

  it('flags a policy selecting nothing', () => {
    const yaml = `${ns('a')}apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: a}\nspec:\n  selector: {matchLabels: {app: ghost}}\n`;
    expect(codes(yaml)).toContain('WEFT_CONFIG_SELECTS_NOTHING');
  });

  it('flags L7 attributes in a policy only the node agent would see', () => {
    const yaml = `${ns('a', { 'istio.io/dataplane-mode': 'ambient' })}${pod('p', 'a', '10.0.0.1', { labels: { app: 'x' }, sa: 'x' })}apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: a}\nspec:\n  selector: {matchLabels: {app: x}}\n  rules: [{to: [{operation: {methods: [GET]}}]}]\n`;
    expect(codes(yaml)).toContain('WEFT_CONFIG_L7_WITHOUT_WAYPOINT');
  });

  it('flags STRICT on pods that are not enrolled', () => {
    const yaml = `${ns('a')}${pod('p', 'a', '10.0.0.1', { sa: 'x' })}apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: a}\nspec: {mtls: {mode: STRICT}}\n`;
    expect(codes(yaml)).toContain('WEFT_CONFIG_STRICT_NOT_ENROLLED');
  });

  it('flags ALLOW policies granting the default service account', () => {
    const yaml = `${ns('a', { 'istio.io/dataplane-mode': 'ambient' })}${pod('p', 'a', '10.0.0.1', { labels: { app: 'x' }, sa: 'x' })}apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: a}\nspec:\n  selector: {matchLabels: {app: x}}\n  rules: [{from: [{source: {principals: [cluster.local/ns/b/sa/default]}}]}]\n`;
    expect(codes(yaml)).toContain('WEFT_CONFIG_DEFAULT_SERVICE_ACCOUNT');
  });

  it('flags PERMISSIVE under a STRICT mesh, and competing namespace policies', () => {
    const pa = (name: string, namespace: string, mode: string) =>
      `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec: {mtls: {mode: ${mode}}}\n---\n`;
    const found = codes(
      ns('istio-system') +
        ns('a') +
        pa('mesh', 'istio-system', 'STRICT') +
        pa('one', 'a', 'PERMISSIVE') +
        pa('two', 'a', 'PERMISSIVE'),
    );
    expect(found).toContain('WEFT_CONFIG_PERMISSIVE_OVERRIDE');
    expect(found).toContain('WEFT_CONFIG_CONFLICT');
  });

  it('flags a use-waypoint label naming no waypoint', () => {
    expect(codes(ns('a', { 'istio.io/use-waypoint': 'ghost' }))).toContain('WEFT_CONFIG_MISSING_WAYPOINT');
  });
});

describe('incremental translation', () => {
  it('reuses unchanged namespaces and objects, and recomputes what a change touches', async () => {
    const { compileConfig: compileAgain } = await import('./pipeline.js');
    const base = parseFiles([
      {
        path: 'a.yaml',
        text:
          ns('a', { 'istio.io/dataplane-mode': 'ambient' }) +
          ns('b', { 'istio.io/dataplane-mode': 'ambient' }) +
          pod('p', 'a', '10.0.0.1', { labels: { app: 'x' } }) +
          pod('q', 'b', '10.0.0.2', { labels: { app: 'y' } }),
      },
    ]).objects;
    const first = compileAgain(base);
    const second = compileAgain(base, { previous: first.translation });
    const w = (c: typeof first, name: string) => c.translation.state.workloads.get(`Kubernetes//Pod/${name}`);
    expect(w(second, 'a/p')).toBe(w(first, 'a/p'));
    expect(w(second, 'b/q')).toBe(w(first, 'b/q'));

    // A changed pod in b: a's workload object is untouched, b's is new.
    const moved = parseFiles([
      { path: 'b.yaml', text: pod('q', 'b', '10.0.0.3', { labels: { app: 'y' } }) },
    ]).objects;
    const third = compileAgain([...base.filter((o) => !(o.kind === 'Pod' && o.name === 'q')), ...moved], {
      previous: second.translation,
    });
    expect(w(third, 'a/p')).toBe(w(first, 'a/p'));
    expect(w(third, 'b/q')?.addresses).toEqual(['10.0.0.3']);

    // A mesh-wide STRICT policy (a global input) reaches every namespace.
    const strict = parseFiles([
      {
        path: 'pa.yaml',
        text: 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: STRICT}}\n',
      },
    ]).objects;
    const fourth = compileAgain([...base, ...strict], { previous: third.translation });
    expect(w(fourth, 'a/p')?.authorizationPolicies).toEqual(['istio-system/istio_converted_static_strict']);
    expect(w(fourth, 'b/q')?.authorizationPolicies).toEqual(['istio-system/istio_converted_static_strict']);
  });
});

describe('incremental translation of Services', () => {
  const svc = (name: string, namespace: string, vip: string) =>
    `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec: {clusterIP: ${vip}, selector: {app: ${name}}, ports: [{name: http, port: 80}]}\n---\n`;
  const waypoint =
    'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: wp, namespace: b, labels: {istio.io/waypoint-for: service}}\nspec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}\n---\n' +
    svc('wp', 'b', '10.96.0.99');

  it('keeps unchanged Services, and recomputes one whose input or namespace labels changed', () => {
    const files = (bLabels: Record<string, string>, x2ip: string) =>
      parseFiles([
        { path: 'ns.yaml', text: ns('a') + waypoint },
        { path: 'b.yaml', text: ns('b', bLabels) },
        { path: 'svc.yaml', text: svc('x1', 'a', '10.96.0.1') + svc('y1', 'b', '10.96.0.3') },
        { path: 'x2.yaml', text: svc('x2', 'a', x2ip) },
      ]).objects;
    const key = (name: string, namespace: string) => `${namespace}/${name}.${namespace}.svc.cluster.local`;
    const base = files({}, '10.96.0.2');
    const first = compileConfig(base);
    const s = (c: typeof first, name: string, namespace: string) =>
      c.translation.state.services.get(key(name, namespace));
    // Same objects again: every Service is the same instance.
    const second = compileConfig(base, { previous: first.translation });
    for (const [k, v] of first.translation.state.services)
      expect(second.translation.state.services.get(k)).toBe(v);

    // One Service edited (its file re-parsed): only it changes.
    const edited = files({}, '10.96.0.22');
    const third = compileConfig(
      [
        ...base.filter((o) => !(o.kind === 'Service' && o.name === 'x2')),
        ...edited.filter((o) => o.name === 'x2'),
      ],
      { previous: second.translation },
    );
    expect(s(third, 'x2', 'a')?.addresses).toEqual([{ network: '', ip: '10.96.0.22' }]);
    expect(s(third, 'x1', 'a')).toBe(s(first, 'x1', 'a'));

    // b's namespace now points at the waypoint: b's Service gains it, a's Services stay as they were.
    const labelled = files({ 'istio.io/use-waypoint': 'wp' }, '10.96.0.22');
    const fourth = compileConfig(
      [...third.index.objects.values()].map((o) =>
        o.kind === 'Namespace' && o.name === 'b'
          ? (labelled.find((l) => l.kind === 'Namespace' && l.name === 'b') ?? o)
          : o,
      ),
      { previous: third.translation },
    );
    expect(s(fourth, 'y1', 'b')?.waypoint).toEqual({
      address: { network: '', ip: '10.96.0.99' },
      hboneMtlsPort: 15008,
    });
    expect(s(third, 'y1', 'b')?.waypoint).toBeUndefined();
    expect(s(fourth, 'x1', 'a')).toBe(s(first, 'x1', 'a'));
    // The waypoint's own Service never points at itself.
    expect(s(fourth, 'wp', 'b')?.waypoint).toBeUndefined();
  });
});

describe('what L7 consumers receive', () => {
  it("sends a Gateway's credential Secrets from its gateway pods' namespace too, as Istio reads them there", () => {
    const yaml =
      ns('istio-system') +
      ns('app') +
      'apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: ingress, namespace: app}\nspec:\n  selector: {istio: ingressgateway}\n  servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*"], tls: {mode: MUTUAL, credentialName: cred}}]\n---\n' +
      pod('ingress-0', 'istio-system', '10.0.0.9', { labels: { istio: 'ingressgateway' } }) +
      'apiVersion: v1\nkind: Secret\nmetadata: {name: cred, namespace: istio-system}\ndata: {tls.crt: eA==}\n---\n' +
      'apiVersion: v1\nkind: Secret\nmetadata: {name: other, namespace: istio-system}\ndata: {tls.crt: eA==}\n';
    const keys = [...compile(yaml).translation.state.configs.keys()];
    expect(keys).toContain('Secret/istio-system/cred');
    expect(keys).not.toContain('Secret/istio-system/other');
  });

  it('sends Secrets only when a Gateway references them, and workload waypoints only when the waypoint serves workloads', () => {
    const yaml =
      ns('gw') +
      ns('app', { 'istio.io/dataplane-mode': 'ambient', 'istio.io/use-waypoint': 'wp' }) +
      'apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: ingress, namespace: gw}\nspec:\n  servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*"], tls: {mode: MUTUAL, credentialName: cred}}]\n---\n' +
      'apiVersion: v1\nkind: Secret\nmetadata: {name: cred, namespace: gw}\ndata: {tls.crt: eA==}\n---\n' +
      'apiVersion: v1\nkind: Secret\nmetadata: {name: cred-cacert, namespace: gw}\ndata: {ca.crt: eA==}\n---\n' +
      'apiVersion: v1\nkind: Secret\nmetadata: {name: unrelated, namespace: gw}\ndata: {password: eA==}\n---\n' +
      'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: wp, namespace: app, labels: {istio.io/waypoint-for: workload}}\nspec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}\n---\n' +
      pod('p', 'app', '10.0.0.1') +
      'apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: app}\nspec: {clusterIP: 10.96.0.5, selector: {app: x}, ports: [{port: 80}]}\n';
    const c = compile(yaml);
    const keys = [...c.translation.state.configs.keys()];
    expect(keys).toContain('Secret/gw/cred');
    expect(keys).toContain('Secret/gw/cred-cacert');
    expect(keys).not.toContain('Secret/gw/unrelated');
    // waypoint-for: workload → the pod gets the waypoint (by hostname: no waypoint Service), the Service does not.
    expect(c.translation.state.workloads.get('Kubernetes//Pod/app/p')?.waypoint).toEqual({
      hostname: { namespace: 'app', hostname: 'wp.app.svc.cluster.local' },
      hboneMtlsPort: 15008,
    });
    expect(c.translation.state.services.get('app/s.app.svc.cluster.local')?.waypoint).toBeUndefined();
  });
});
