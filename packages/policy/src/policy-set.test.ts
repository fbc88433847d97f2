import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate.js';
import { compilePolicies, type PolicySet } from './policy-set.js';
import { rawAp, rawPa, rawRa } from './test-helpers.js';

const GW = { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'waypoint' };

function fixture(): PolicySet {
  return compilePolicies({
    authorizationPolicies: [
      rawAp(
        { action: 'DENY', rules: [{ to: [{ operation: { ports: ['22'] } }] }] },
        { name: 'mesh-deny-ssh', namespace: 'istio-system' },
      ),
      rawAp(
        { selector: { matchLabels: { tier: 'db' } }, rules: [{}] },
        { name: 'mesh-db', namespace: 'istio-system' },
      ),
      rawAp(
        { rules: [{ from: [{ source: { namespaces: ['prod'] } }] }] },
        { name: 'ns-allow', namespace: 'prod' },
      ),
      rawAp(
        {
          selector: { matchLabels: { app: 'payments' } },
          rules: [{ to: [{ operation: { methods: ['POST'] } }] }],
        },
        { name: 'payments', namespace: 'prod' },
      ),
      rawAp(
        {
          targetRefs: [GW],
          action: 'DENY',
          rules: [{ to: [{ operation: { paths: ['/admin*'], ports: ['8080'] } }] }],
        },
        { name: 'at-waypoint', namespace: 'prod' },
      ),
      rawAp(
        { targetRef: { group: '', kind: 'Service', name: 'reviews' }, rules: [{}] },
        { name: 'reviews-svc', namespace: 'prod' },
      ),
      rawAp({ rules: [{}] }, { name: 'dev-allow', namespace: 'dev' }),
      rawAp(
        { rules: [{ from: [{ source: { principals: ['bad/ns/'] } }] }], action: 'NOPE' },
        { name: 'broken', namespace: 'prod' },
      ),
    ],
    peerAuthentications: [
      rawPa({ mtls: { mode: 'STRICT' } }, { name: 'default', namespace: 'istio-system' }),
      rawPa(
        { selector: { matchLabels: { app: 'legacy' } }, mtls: { mode: 'PERMISSIVE' } },
        { name: 'legacy', namespace: 'prod' },
      ),
    ],
    requestAuthentications: [
      rawRa({ jwtRules: [{ issuer: 'mesh-issuer' }] }, { name: 'mesh-jwt', namespace: 'istio-system' }),
      rawRa(
        { selector: { matchLabels: { app: 'payments' } }, jwtRules: [{ issuer: 'pay-issuer' }] },
        { name: 'pay-jwt', namespace: 'prod' },
      ),
      rawRa({ targetRefs: [GW], jwtRules: [{ issuer: 'wp-issuer' }] }, { name: 'wp-jwt', namespace: 'prod' }),
    ],
  });
}

describe('PolicySet scope', () => {
  const set = fixture();
  const scope = [
    {
      name: 'namespace workload: mesh-wide + namespace-wide',
      w: { namespace: 'prod', labels: { app: 'web' } },
      keys: ['istio-system/mesh-deny-ssh', 'prod/ns-allow'],
    },
    {
      name: 'selector policy joins for matching labels',
      w: { namespace: 'prod', labels: { app: 'payments' } },
      keys: ['istio-system/mesh-deny-ssh', 'prod/ns-allow', 'prod/payments'],
    },
    {
      name: 'root-namespace selector applies in every namespace',
      w: { namespace: 'dev', labels: { tier: 'db' } },
      keys: ['istio-system/mesh-deny-ssh', 'istio-system/mesh-db', 'dev/dev-allow'],
    },
    {
      name: 'other namespace sees only its own',
      w: { namespace: 'dev', labels: {} },
      keys: ['istio-system/mesh-deny-ssh', 'dev/dev-allow'],
    },
    {
      name: 'namespace without policies',
      w: { namespace: 'empty', labels: {} },
      keys: ['istio-system/mesh-deny-ssh'],
    },
  ];
  it.each(scope)('$name', ({ w, keys }) => {
    expect(set.forWorkload(w).all.map((p) => p.key)).toEqual(keys);
  });

  it('targetRef policies apply only at their waypoint/service', () => {
    expect(
      set.forTargets({ gateway: { namespace: 'prod', name: 'waypoint' } }).all.map((p) => p.key),
    ).toEqual(['prod/at-waypoint']);
    expect(
      set.forTargets({ services: [{ namespace: 'prod', name: 'reviews' }] }).all.map((p) => p.key),
    ).toEqual(['prod/reviews-svc']);
    expect(set.forTargets({ gateway: { namespace: 'dev', name: 'waypoint' } }).all).toEqual([]);
    expect(set.l4Authorizations().some((a) => a.name === 'at-waypoint')).toBe(false);
  });

  it('GatewayClass targetRefs in the root namespace apply to every waypoint of that class', () => {
    const s2 = fixture();
    s2.upsert(
      rawAp(
        {
          targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'GatewayClass', name: 'istio-waypoint' }],
          action: 'DENY',
          rules: [{}],
        },
        { name: 'all-waypoints', namespace: 'istio-system' },
      ),
    );
    const keys = s2
      .forTargets({ gateway: { namespace: 'prod', name: 'waypoint' }, gatewayClass: 'istio-waypoint' })
      .all.map((p) => p.key);
    expect(keys).toEqual(['prod/at-waypoint', 'istio-system/all-waypoints']);
  });

  it('reports invalid resources and keeps the rest', () => {
    expect([...set.problems.keys()]).toEqual(['AuthorizationPolicy prod/broken']);
    expect(set.size).toBe(7);
  });

  it('JWT providers by scope', () => {
    expect(
      set.jwtProvidersForWorkload({ namespace: 'prod', labels: { app: 'payments' } }).map((p) => p.issuer),
    ).toEqual(['mesh-issuer', 'pay-issuer']);
    expect(set.jwtProvidersForWorkload({ namespace: 'prod', labels: {} }).map((p) => p.issuer)).toEqual([
      'mesh-issuer',
    ]);
    expect(
      set.jwtProvidersForTargets({ gateway: { namespace: 'prod', name: 'waypoint' } }).map((p) => p.issuer),
    ).toEqual(['wp-issuer']);
  });

  it('PeerAuthentication by workload and the L4 keys a workload lists', () => {
    expect(set.peerAuthentication({ namespace: 'prod', labels: { app: 'web' } }, 80).mode).toBe('STRICT');
    expect(set.peerAuthentication({ namespace: 'prod', labels: { app: 'legacy' } }, 80).mode).toBe(
      'PERMISSIVE',
    );
    expect(set.l4PolicyKeysForWorkload({ namespace: 'prod', labels: { app: 'payments' } })).toEqual([
      'istio-system/istio_converted_static_strict',
      'prod/payments',
    ]);
    expect(set.l4PolicyKeysForWorkload({ namespace: 'prod', labels: { app: 'legacy' } })).toEqual([]);
  });

  it('decides through the index', () => {
    const w = { namespace: 'prod', labels: { app: 'web' } };
    const d = evaluate(set.forWorkload(w), {
      sourcePrincipal: 'cluster.local/ns/prod/sa/a',
      destinationPort: 22,
    });
    expect(d.reason).toBe('denied by istio-system/mesh-deny-ssh rule 0');
    expect(
      evaluate(set.forWorkload(w), { sourcePrincipal: 'cluster.local/ns/prod/sa/a', destinationPort: 80 })
        .reason,
    ).toBe('allowed by prod/ns-allow rule 0');
  });
});

describe('PolicySet incremental updates', () => {
  it('caches per labels object and invalidates only on change', () => {
    const set = fixture();
    const w = { namespace: 'prod', labels: { app: 'web' } };
    const first = set.forWorkload(w);
    expect(set.forWorkload(w)).toBe(first);
    const v = set.version;
    set.upsert(rawAp({ action: 'DENY', rules: [{}] }, { name: 'lockdown', namespace: 'dev' }));
    expect(set.version).toBe(v + 1);
    expect(set.forWorkload(w)).toBe(first); // another namespace: prod's cache survives
    set.upsert(rawAp({ action: 'DENY', rules: [{}] }, { name: 'lockdown', namespace: 'prod' }));
    expect(set.forWorkload(w).all.map((p) => p.key)).toContain('prod/lockdown');
    expect(set.remove('AuthorizationPolicy', 'prod', 'lockdown')).toBe(true);
    expect(set.forWorkload(w).all.map((p) => p.key)).not.toContain('prod/lockdown');
  });

  it('a root-namespace change reaches every workload', () => {
    const set = fixture();
    const w = { namespace: 'dev', labels: {} };
    set.forWorkload(w);
    set.upsert(rawAp({ rules: [{}] }, { name: 'new-global', namespace: 'istio-system' }));
    expect(set.forWorkload(w).all.map((p) => p.key)).toContain('istio-system/new-global');
  });

  it('an invalid update takes the old version out of force and is reported', () => {
    const set = fixture();
    const problems = set.upsert(rawAp({ action: 'BAD' }, { name: 'ns-allow', namespace: 'prod' }));
    expect(problems.map((p) => p.code)).toEqual(['WEFT_POLICY_BAD_VALUE']);
    expect(set.forWorkload({ namespace: 'prod', labels: {} }).all.map((p) => p.key)).not.toContain(
      'prod/ns-allow',
    );
    set.upsert(rawAp({}, { name: 'ns-allow', namespace: 'prod' }));
    expect(set.problems.has('AuthorizationPolicy prod/ns-allow')).toBe(false);
    set.upsert(rawAp({ action: 'BAD' }, { name: 'x', namespace: 'prod' }));
    expect(set.problems.has('AuthorizationPolicy prod/x')).toBe(true);
    set.remove('AuthorizationPolicy', 'prod', 'x');
    expect(set.problems.has('AuthorizationPolicy prod/x')).toBe(false);
  });

  it('trust domain aliases flow into L7 and L4', () => {
    const set = compilePolicies({
      authorizationPolicies: [
        rawAp(
          { rules: [{ from: [{ source: { principals: ['cluster.local/ns/prod/sa/a'] } }] }] },
          { name: 'a' },
        ),
      ],
      trustDomain: 'new.td',
      trustDomainAliases: ['cluster.local'],
    });
    const d = evaluate(set.forWorkload({ namespace: 'prod', labels: {} }), {
      sourcePrincipal: 'spiffe://new.td/ns/prod/sa/a',
    });
    expect(d.allowed).toBe(true);
    const l4 = set.l4Authorizations().find((x) => x.name === 'a');
    expect(l4?.rules[0]?.clauses[0]?.matches[0]?.principals).toEqual([
      { exact: 'new.td/ns/prod/sa/a' },
      { exact: 'cluster.local/ns/prod/sa/a' },
    ]);
  });

  it('selector policies are found through the label index', () => {
    const list = [];
    for (let i = 0; i < 1_000; i++) {
      list.push(
        rawAp(
          { selector: { matchLabels: { app: `app${i}`, tier: i % 2 === 0 ? 'web' : 'db' } }, rules: [{}] },
          { name: `s${i}`, namespace: 'big' },
        ),
      );
    }
    list.push(
      rawAp({ selector: { matchLabels: {} }, rules: [{}] }, { name: 'empty-selector', namespace: 'big' }),
    );
    const set = compilePolicies({ authorizationPolicies: list });
    const keys = (labels: Record<string, string>) =>
      set.forWorkload({ namespace: 'big', labels }).all.map((p) => p.key);
    expect(keys({ app: 'app7', tier: 'db', extra: 'x' })).toEqual(['big/empty-selector', 'big/s7']);
    expect(keys({ app: 'app7', tier: 'web' })).toEqual(['big/empty-selector']);
    expect(keys({ tier: 'db' })).toEqual(['big/empty-selector']);
  });

  it('compiles 10,000 policies quickly and a decision looks at one namespace', () => {
    const list = [];
    for (let i = 0; i < 10_000; i++) {
      list.push(
        rawAp(
          { rules: [{ from: [{ source: { principals: [`cluster.local/ns/ns${i % 500}/sa/sa${i}`] } }] }] },
          { name: `p${i}`, namespace: `ns${i % 500}` },
        ),
      );
    }
    const t0 = performance.now();
    const set = compilePolicies({ authorizationPolicies: list });
    const ms = performance.now() - t0;
    expect(set.size).toBe(10_000);
    expect(ms).toBeLessThan(5_000);
    expect(set.forWorkload({ namespace: 'ns7', labels: {} }).all.length).toBe(20);
  });
});
