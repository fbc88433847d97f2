import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureIo } from '../test-io.js';

const demo = join(import.meta.dirname, '..', '..', '..', '..', 'deploy', 'examples', 'demo', 'config');

// The demo plus a Gateway-targeted DENY at the waypoint and a selector DENY at payments' node agent.
const extra = mkdtempSync(join(tmpdir(), 'weft-check-authz-'));
cpSync(demo, extra, { recursive: true });
writeFileSync(
  join(extra, '07-extra.yaml'),
  `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: waypoint-deny-admin
  namespace: prod
spec:
  targetRefs:
    - kind: Gateway
      group: gateway.networking.k8s.io
      name: waypoint
  action: DENY
  rules:
    - to:
        - operation:
            paths: ["/admin"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: payments-deny-orders-l4
  namespace: prod
spec:
  selector:
    matchLabels:
      app: payments
  action: DENY
  rules:
    - from:
        - source:
            principals: ["cluster.local/ns/prod/sa/orders"]
      to:
        - operation:
            ports: ["9090"]
`,
);
afterAll(() => rmSync(extra, { recursive: true, force: true }));

async function run(argv: string[]) {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, out: io.out(), err: io.err() };
}

interface Case {
  name: string;
  dir: string;
  args: string[];
  code: number;
  json: Record<string, unknown>;
  /** Per layer, in path order: where, allowed, deciding policy. */
  layers: [string, boolean, string | null][];
}

const cases: Case[] = [
  {
    name: 'demo: web → payments POST /charge is denied at the waypoint (targetRefs Service policy)',
    dir: demo,
    args: ['frontend/web-0', 'prod/payments-0', 'POST', '/charge'],
    code: 1,
    json: {
      allowed: false,
      waypoint: 'prod/waypoint',
      waypointServices: ['prod/payments'],
      enforcedAt: 'waypoint (L7)',
      decidedBy: 'authorization-policy',
      reason: 'allow policies exist, but none matched',
    },
    layers: [
      ['waypoint (L7)', false, null],
      ['weft-node (L4)', true, null],
    ],
  },
  {
    name: 'demo: orders → payments POST /charge is allowed by rule 0, with its file:line',
    dir: demo,
    args: ['prod/orders-0', 'prod/payments-0', 'POST', '/charge'],
    code: 0,
    json: {
      allowed: true,
      waypoint: 'prod/waypoint',
      policy: 'prod/payments-allow-orders',
      ruleIndex: 0,
      enforcedAt: 'waypoint (L7)',
      location: expect.stringMatching(/06-security\.yaml:\d+$/),
    },
    layers: [
      ['waypoint (L7)', true, 'prod/payments-allow-orders'],
      ['weft-node (L4)', true, null],
    ],
  },
  {
    name: 'demo: orders → payments GET /charge: the method does not match, denied at the waypoint',
    dir: demo,
    args: ['prod/orders-0', 'prod/payments-0', 'GET', '/charge'],
    code: 1,
    json: { allowed: false, enforcedAt: 'waypoint (L7)' },
    layers: [
      ['waypoint (L7)', false, null],
      ['weft-node (L4)', true, null],
    ],
  },
  {
    name: 'demo: no waypoint in front of orders: only the node agent (L4) decides',
    dir: demo,
    args: ['frontend/web-0', 'prod/orders-0', '--port', '8080'],
    code: 0,
    json: { allowed: true, waypoint: null, waypointServices: [], policy: 'prod/orders-allow-web' },
    layers: [['weft-node (L4)', true, 'prod/orders-allow-web']],
  },
  {
    name: 'demo: payments → orders is denied at L4 (no waypoint)',
    dir: demo,
    args: ['prod/payments-0', 'prod/orders-0', '--port', '8080'],
    code: 1,
    json: { allowed: false, waypoint: null, enforcedAt: 'weft-node (L4)' },
    layers: [['weft-node (L4)', false, null]],
  },
  {
    name: 'a policy on the waypoint Gateway (targetRefs kind Gateway) denies /admin',
    dir: extra,
    args: ['prod/orders-0', 'prod/payments-0', 'POST', '/admin'],
    code: 1,
    json: { allowed: false, policy: 'prod/waypoint-deny-admin', ruleIndex: 0, enforcedAt: 'waypoint (L7)' },
    layers: [
      ['waypoint (L7)', false, 'prod/waypoint-deny-admin'],
      ['weft-node (L4)', true, null],
    ],
  },
  {
    name: 'the waypoint allows but the node agent denies: overall DENY at L4',
    dir: extra,
    args: ['prod/orders-0', 'prod/payments-0', 'POST', '/charge', '--port', '9090'],
    code: 1,
    json: { allowed: false, policy: 'prod/payments-deny-orders-l4', enforcedAt: 'weft-node (L4)' },
    layers: [
      ['waypoint (L7)', true, 'prod/payments-allow-orders'],
      ['weft-node (L4)', false, 'prod/payments-deny-orders-l4'],
    ],
  },
];

describe('weftctl check authz through a waypoint', () => {
  for (const c of cases) {
    it(c.name, async () => {
      for (const format of ['json', 'yaml']) {
        const r = await run(['check', 'authz', ...c.args, '--config-dir', c.dir, '-o', format]);
        expect(r.err).toBe('');
        expect(r.code).toBe(c.code);
        if (format === 'yaml') {
          expect(r.out).toContain('layers:');
          continue;
        }
        const got = JSON.parse(r.out) as {
          layers: { enforcedAt: string; allowed: boolean; policy: string | null }[];
        };
        expect(got).toMatchObject(c.json);
        expect(got.layers.map((l) => [l.enforcedAt, l.allowed, l.policy])).toEqual(c.layers);
      }
    });
  }

  it('text output shows both layers, the 403 and each policy the waypoint evaluated', async () => {
    const r = await run([
      'check',
      'authz',
      'frontend/web-0',
      'prod/payments-0',
      'POST',
      '/charge',
      '--config-dir',
      demo,
      '--no-color',
    ]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('via waypoint: prod/waypoint (for prod/payments)');
    expect(r.out).toContain('waypoint (L7) prod/waypoint: DENY (403 RBAC: access denied)');
    expect(r.out).toContain('ALLOW prod/payments-allow-orders: no rule matched (1 rules)');
    expect(r.out).toContain('weft-node (L4): ALLOW');
  });
});
