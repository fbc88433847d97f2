import { describe, expect, it } from 'vitest';
import { evaluateL4, type L4Connection, traceL4 } from './evaluate-l4.js';
import { emptyMatch } from './l4-model.js';
import { L4PolicyStore } from './l4-store.js';
import { projectL4 } from './project-l4.js';
import { ap } from './test-helpers.js';

const ORDERS = 'cluster.local/ns/prod/sa/orders';
const conn = (extra: Partial<L4Connection> = {}): L4Connection => ({
  sourceIdentity: `spiffe://${ORDERS}`,
  sourceIp: '10.0.0.5',
  destinationIp: '10.0.1.7',
  destinationPort: 8080,
  ...extra,
});

describe('projectL4: shape', () => {
  it('mirrors istio.security.Authorization field for field', () => {
    const p = projectL4(
      ap({
        selector: { matchLabels: { app: 'db' } },
        action: 'DENY',
        rules: [
          {
            from: [
              {
                source: {
                  principals: ['a*'],
                  notNamespaces: ['dev'],
                  ipBlocks: ['10.0.0.0/8'],
                },
              },
              { source: { serviceAccounts: ['sa1', 'x/sa2'] } },
            ],
            to: [{ operation: { ports: ['5432'], notPorts: ['1'] } }],
            when: [{ key: 'destination.ip', values: ['10.1.0.0/16'], notValues: ['10.1.2.3'] }],
          },
        ],
      }),
    );
    expect(p.warnings).toEqual([]);
    expect(p.authorization).toEqual({
      name: 'p',
      namespace: 'prod',
      scope: 'WORKLOAD_SELECTOR',
      action: 'DENY',
      dryRun: false,
      rules: [
        {
          clauses: [
            { matches: [emptyMatch({ destinationPorts: [5432], notDestinationPorts: [1] })] },
            {
              matches: [
                emptyMatch({
                  principals: [{ prefix: 'a' }],
                  notNamespaces: [{ exact: 'dev' }],
                  sourceIps: [{ address: new Uint8Array([10, 0, 0, 0]), length: 8 }],
                }),
                emptyMatch({
                  serviceAccounts: [
                    { namespace: 'prod', serviceAccount: 'sa1' },
                    { namespace: 'x', serviceAccount: 'sa2' },
                  ],
                }),
              ],
            },
            {
              matches: [
                emptyMatch({
                  destinationIps: [{ address: new Uint8Array([10, 1, 0, 0]), length: 16 }],
                  notDestinationIps: [{ address: new Uint8Array([10, 1, 2, 3]), length: 32 }],
                }),
              ],
            },
          ],
        },
      ],
    });
  });

  const scopes: Array<{ name: string; spec: object; ns: string; scope: string | null }> = [
    { name: 'root namespace → GLOBAL', spec: {}, ns: 'istio-system', scope: 'GLOBAL' },
    { name: 'namespace-wide → NAMESPACE', spec: {}, ns: 'prod', scope: 'NAMESPACE' },
    {
      name: 'selector → WORKLOAD_SELECTOR',
      spec: { selector: { matchLabels: { a: 'b' } } },
      ns: 'prod',
      scope: 'WORKLOAD_SELECTOR',
    },
    {
      name: 'targetRef → not for the node agent',
      spec: { targetRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'waypoint' } },
      ns: 'prod',
      scope: null,
    },
    {
      name: 'CUSTOM → not supported',
      spec: { action: 'CUSTOM', provider: { name: 'x' }, rules: [{}] },
      ns: 'prod',
      scope: null,
    },
    { name: 'AUDIT → not supported', spec: { action: 'AUDIT' }, ns: 'prod', scope: null },
  ];
  it.each(scopes)('$name', ({ name, spec, ns, scope }) => {
    const p = projectL4(ap(spec, { namespace: ns }));
    expect(p.authorization?.scope ?? null).toBe(scope);
    if (scope === null) expect(p.warnings.length).toBe(name.startsWith('targetRef') ? 0 : 1);
  });

  it('carries dry-run', () => {
    expect(
      projectL4(ap({ rules: [{}] }, { annotations: { 'istio.io/dry-run': 'true' } })).authorization?.dryRun,
    ).toBe(true);
  });

  it('explains dropped HTTP attributes', () => {
    const p = projectL4(ap({ rules: [{ to: [{ operation: { methods: ['GET'], paths: ['/x'] } }] }] }));
    expect(p.authorization?.rules).toEqual([]);
    expect(p.warnings[0]).toMatch(
      /found: methods, paths\)\. Within an ALLOW policy, rules matching HTTP attributes are omitted/,
    );
  });
});

interface Case {
  readonly name: string;
  readonly spec: object;
  readonly conn: L4Connection;
  readonly allowed: boolean;
}

/** A single policy in prod, projected and evaluated by the node agent. */
const cases: Case[] = [
  {
    name: 'ALLOW principal',
    spec: { rules: [{ from: [{ source: { principals: [ORDERS] } }] }] },
    conn: conn(),
    allowed: true,
  },
  {
    name: 'ALLOW principal, plaintext',
    spec: { rules: [{ from: [{ source: { principals: [ORDERS] } }] }] },
    conn: conn({ sourceIdentity: undefined as never }),
    allowed: false,
  },
  {
    name: 'ALLOW port-only rule (TCP)',
    spec: { rules: [{ to: [{ operation: { ports: ['8080'] } }] }] },
    conn: conn(),
    allowed: true,
  },
  {
    name: 'ALLOW port-only rule, other port',
    spec: { rules: [{ to: [{ operation: { ports: ['8080'] } }] }] },
    conn: conn({ destinationPort: 9090 }),
    allowed: false,
  },
  {
    name: 'ALLOW with methods is dropped → deny',
    spec: {
      rules: [
        {
          from: [{ source: { principals: [ORDERS] } }],
          to: [{ operation: { methods: ['POST'], paths: ['/charge'] } }],
        },
      ],
    },
    conn: conn(),
    allowed: false,
  },
  {
    name: 'ALLOW requestPrincipals dropped → deny',
    spec: { rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] },
    conn: conn(),
    allowed: false,
  },
  {
    name: 'ALLOW L7 rule dropped, L4 rule kept',
    spec: {
      rules: [
        { to: [{ operation: { methods: ['GET'] } }] },
        { from: [{ source: { namespaces: ['prod'] } }] },
      ],
    },
    conn: conn(),
    allowed: true,
  },
  {
    name: 'ALLOW header when dropped',
    spec: { rules: [{ when: [{ key: 'request.headers[x]', values: ['y'] }] }] },
    conn: conn(),
    allowed: false,
  },
  {
    name: 'ALLOW remoteIpBlocks dropped',
    spec: { rules: [{ from: [{ source: { remoteIpBlocks: ['10.0.0.0/8'] } }] }] },
    conn: conn(),
    allowed: false,
  },
  {
    name: 'ALLOW when source.ip kept',
    spec: { rules: [{ when: [{ key: 'source.ip', values: ['10.0.0.0/24'] }] }] },
    conn: conn(),
    allowed: true,
  },
  {
    name: 'ALLOW when destination.port notValues kept',
    spec: { rules: [{ when: [{ key: 'destination.port', notValues: ['8080'] }] }] },
    conn: conn(),
    allowed: false,
  },
  {
    name: 'ALLOW when source.namespace',
    spec: { rules: [{ when: [{ key: 'source.namespace', values: ['prod'] }] }] },
    conn: conn(),
    allowed: true,
  },
  {
    name: 'ALLOW when source.principal',
    spec: { rules: [{ when: [{ key: 'source.principal', values: ['*/sa/orders'] }] }] },
    conn: conn(),
    allowed: true,
  },
  {
    name: 'ALLOW ipBlocks IPv6',
    spec: { rules: [{ from: [{ source: { ipBlocks: ['fd00::/8'] } }] }] },
    conn: conn({ sourceIp: 'fd00::5' }),
    allowed: true,
  },
  {
    name: 'ALLOW notIpBlocks',
    spec: { rules: [{ from: [{ source: { notIpBlocks: ['10.0.0.5'] } }] }] },
    conn: conn(),
    allowed: false,
  },
  {
    name: 'ALLOW serviceAccounts',
    spec: { rules: [{ from: [{ source: { serviceAccounts: ['orders'] } }] }] },
    conn: conn(),
    allowed: true,
  },
  {
    name: 'ALLOW notServiceAccounts, plaintext',
    spec: { rules: [{ from: [{ source: { notServiceAccounts: ['orders'] } }] }] },
    conn: conn({ sourceIdentity: undefined as never }),
    allowed: true,
  },
  {
    name: 'ALLOW notPrincipals, plaintext matches',
    spec: { rules: [{ from: [{ source: { notPrincipals: [ORDERS] } }] }] },
    conn: conn({ sourceIdentity: undefined as never }),
    allowed: true,
  },
  { name: 'spec: {} → deny all', spec: {}, conn: conn(), allowed: false },
  {
    name: 'rules: [{}] → allow all',
    spec: { rules: [{}] },
    conn: conn({ sourceIdentity: undefined as never }),
    allowed: true,
  },
  {
    name: 'DENY with paths: L7 stripped → deny on port',
    spec: { action: 'DENY', rules: [{ to: [{ operation: { ports: ['8080'], paths: ['/admin'] } }] }] },
    conn: conn(),
    allowed: false,
  },
  {
    name: 'DENY with paths, other port',
    spec: { action: 'DENY', rules: [{ to: [{ operation: { ports: ['8080'], paths: ['/admin'] } }] }] },
    conn: conn({ destinationPort: 9090 }),
    allowed: true,
  },
  {
    name: 'DENY principal + paths → deny the principal',
    spec: {
      action: 'DENY',
      rules: [
        { from: [{ source: { principals: [ORDERS] } }], to: [{ operation: { paths: ['/status/418'] } }] },
      ],
    },
    conn: conn(),
    allowed: false,
  },
  {
    name: 'DENY principal + paths, other principal',
    spec: {
      action: 'DENY',
      rules: [
        { from: [{ source: { principals: [ORDERS] } }], to: [{ operation: { paths: ['/status/418'] } }] },
      ],
    },
    conn: conn({ sourceIdentity: 'spiffe://cluster.local/ns/prod/sa/web' }),
    allowed: true,
  },
  {
    name: 'DENY only-L7 when → denies everything',
    spec: { action: 'DENY', rules: [{ when: [{ key: 'request.headers[x]', values: ['y'] }] }] },
    conn: conn(),
    allowed: false,
  },
  {
    name: 'DENY notNamespaces',
    spec: { action: 'DENY', rules: [{ from: [{ source: { notNamespaces: ['prod'] } }] }] },
    conn: conn({ sourceIdentity: 'spiffe://cluster.local/ns/dev/sa/x' }),
    allowed: false,
  },
  {
    name: 'DENY destination ip',
    spec: { action: 'DENY', rules: [{ when: [{ key: 'destination.ip', values: ['10.0.1.0/24'] }] }] },
    conn: conn(),
    allowed: false,
  },
];

describe('projectL4 + evaluateL4', () => {
  it.each(cases)('$name', ({ spec, conn: c, allowed }) => {
    const a = projectL4(ap(spec)).authorization!;
    expect(evaluateL4([a], c).allowed).toBe(allowed);
  });
});

describe('evaluateL4 order and reasons', () => {
  const allow = projectL4(
    ap({ rules: [{ from: [{ source: { namespaces: ['prod'] } }] }] }, { name: 'allow-prod' }),
  ).authorization!;
  const deny = projectL4(
    ap({ action: 'DENY', rules: [{ to: [{ operation: { ports: ['22'] } }] }] }, { name: 'no-ssh' }),
  ).authorization!;
  const dry = projectL4(
    ap({ action: 'DENY', rules: [{}] }, { name: 'dry', annotations: { 'istio.io/dry-run': 'true' } }),
  ).authorization!;
  const table = [
    { name: 'no policies', policies: [], c: conn(), allowed: true, reason: 'no policies' },
    {
      name: 'deny wins',
      policies: [allow, deny],
      c: conn({ destinationPort: 22 }),
      allowed: false,
      reason: 'explicitly denied by: prod/no-ssh',
    },
    {
      name: 'allow matched',
      policies: [allow, deny],
      c: conn(),
      allowed: true,
      reason: 'allowed by: prod/allow-prod',
    },
    {
      name: 'no allow matched',
      policies: [allow],
      c: conn({ sourceIdentity: 'spiffe://cluster.local/ns/dev/sa/x' }),
      allowed: false,
      reason: 'allow policies exist, but none matched',
    },
    {
      name: 'only deny, not matched',
      policies: [deny],
      c: conn(),
      allowed: true,
      reason: 'no allow policies',
    },
    { name: 'dry-run is not enforced', policies: [dry], c: conn(), allowed: true, reason: 'no policies' },
  ];
  it.each(table)('$name', ({ policies, c, allowed, reason }) => {
    const d = evaluateL4(policies, c);
    expect(d.allowed).toBe(allowed);
    expect(d.reason).toBe(reason);
  });

  it('traces every policy for explanations', () => {
    expect(traceL4([allow, deny, dry], conn({ destinationPort: 22 }))).toEqual([
      { policy: 'prod/allow-prod', action: 'ALLOW', dryRun: false, matchedRule: 0 },
      { policy: 'prod/no-ssh', action: 'DENY', dryRun: false, matchedRule: 0 },
      { policy: 'prod/dry', action: 'DENY', dryRun: true, matchedRule: 0 },
    ]);
  });

  it('reports dry-run matches', () => {
    expect(evaluateL4([dry], conn()).dryRunMatches).toEqual([
      { policy: 'prod/dry', action: 'DENY', ruleIndex: 0 },
    ]);
  });
});

describe('L4PolicyStore', () => {
  it('selects GLOBAL, same-namespace and listed selector policies only', () => {
    const store = new L4PolicyStore();
    const g = projectL4(
      ap(
        { action: 'DENY', rules: [{ to: [{ operation: { ports: ['1'] } }] }] },
        { name: 'g', namespace: 'istio-system' },
      ),
    ).authorization!;
    const n = projectL4(ap({ rules: [{}] }, { name: 'n' })).authorization!;
    const other = projectL4(ap({}, { name: 'o', namespace: 'dev' })).authorization!;
    const sel = projectL4(ap({ selector: { matchLabels: { app: 'x' } } }, { name: 's' })).authorization!;
    for (const a of [g, n, other, sel]) store.upsert(a);
    expect(store.size).toBe(4);
    const w = { namespace: 'prod', policies: [] as string[] };
    expect(store.forWorkload(w).map((c) => c.key)).toEqual(['istio-system/g', 'prod/n']);
    expect(store.evaluate(w, conn()).allowed).toBe(true);
    const w2 = { namespace: 'prod', policies: ['prod/s'] };
    expect(store.forWorkload(w2).map((c) => c.key)).toEqual(['istio-system/g', 'prod/n', 'prod/s']);
    expect(store.evaluate(w2, conn({ destinationPort: 1 })).reason).toBe(
      'explicitly denied by: istio-system/g',
    );
    // cached until the store changes
    expect(store.forWorkload(w2)).toBe(store.forWorkload(w2));
    expect(store.remove('prod', 'n')).toBe(true);
    expect(store.forWorkload(w).map((c) => c.key)).toEqual(['istio-system/g']);
    expect(store.remove('prod', 'n')).toBe(false);
  });
});
