import { describe, expect, it } from 'vitest';
import type { RequestAttributes } from './attributes.js';
import { compileAuthorizationPolicy } from './compile.js';
import { evaluate } from './evaluate.js';
import { explain, formatExplanation } from './explain.js';
import { ap, cap } from './test-helpers.js';

const ORDERS = 'cluster.local/ns/prod/sa/orders';
const mtls = (principal: string | undefined, extra: Partial<RequestAttributes> = {}): RequestAttributes => ({
  ...(principal === undefined ? {} : { sourcePrincipal: principal }),
  sourceIp: '10.0.0.5',
  destinationIp: '10.0.1.7',
  destinationPort: 8080,
  ...extra,
});
const http = (
  principal: string | undefined,
  method: string,
  path: string,
  extra: Partial<RequestAttributes> = {},
): RequestAttributes =>
  mtls(principal, {
    http: { method, path, host: 'payments.prod.svc.cluster.local:8080', headers: {} },
    ...extra,
  });

const chargeAllow = cap({
  action: 'ALLOW',
  rules: [
    {
      from: [{ source: { principals: [ORDERS] } }],
      to: [{ operation: { methods: ['POST'], paths: ['/charge'] } }],
    },
  ],
});

describe('evaluate: Istio order and the brief examples', () => {
  const denyTeapot = cap(
    {
      action: 'DENY',
      rules: [
        {
          from: [{ source: { principals: ['test.client'] } }],
          to: [{ operation: { paths: ['/status/418'] } }],
        },
      ],
    },
    { name: 'deny-teapot', namespace: 'istio-system' },
  );
  const requireJwt = cap(
    { rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] },
    { name: 'require-jwt' },
  );
  const denyAll = cap({}, { name: 'deny-all' });
  const allowAll = cap({ rules: [{}] }, { name: 'allow-all' });
  const jwt = { principal: 'testing@secure.istio.io/testing@secure.istio.io', audiences: [], claims: {} };
  const cases: Array<{
    name: string;
    policies: ReturnType<typeof cap>[];
    req: RequestAttributes;
    allowed: boolean;
    reason: string;
    rule?: number;
  }> = [
    { name: 'no policies → allow', policies: [], req: mtls(undefined), allowed: true, reason: 'no policies' },
    {
      name: 'orders POST /charge → 200',
      policies: [chargeAllow],
      req: http(ORDERS, 'POST', '/charge'),
      allowed: true,
      reason: 'allowed by prod/p rule 0',
      rule: 0,
    },
    {
      name: 'orders GET /charge → 403',
      policies: [chargeAllow],
      req: http(ORDERS, 'GET', '/charge'),
      allowed: false,
      reason: 'allow policies exist, but none matched',
    },
    {
      name: 'other SA POST /charge → 403',
      policies: [chargeAllow],
      req: http('cluster.local/ns/prod/sa/web', 'POST', '/charge'),
      allowed: false,
      reason: 'allow policies exist, but none matched',
    },
    {
      name: 'test.client /status/418 → denied',
      policies: [denyTeapot],
      req: http('test.client', 'GET', '/status/418'),
      allowed: false,
      reason: 'denied by istio-system/deny-teapot rule 0',
      rule: 0,
    },
    {
      name: 'test.client /status/200 → allowed',
      policies: [denyTeapot],
      req: http('test.client', 'GET', '/status/200'),
      allowed: true,
      reason: 'no allow policies, and no deny policy matched',
    },
    {
      name: 'require JWT: none → 403',
      policies: [requireJwt],
      req: http(undefined, 'GET', '/details/1'),
      allowed: false,
      reason: 'allow policies exist, but none matched',
    },
    {
      name: 'require JWT: present → 200',
      policies: [requireJwt],
      req: http(undefined, 'GET', '/details/1', { auth: jwt }),
      allowed: true,
      reason: 'allowed by prod/require-jwt rule 0',
      rule: 0,
    },
    {
      name: 'spec: {} denies everything',
      policies: [denyAll],
      req: http(ORDERS, 'GET', '/'),
      allowed: false,
      reason: 'allow policies exist, but none matched',
    },
    {
      name: 'spec: {} beside allow-all → allow',
      policies: [denyAll, allowAll],
      req: mtls(undefined),
      allowed: true,
      reason: 'allowed by prod/allow-all rule 0',
      rule: 0,
    },
    {
      name: 'DENY beats ALLOW',
      policies: [allowAll, cap({ action: 'DENY', rules: [{}] }, { name: 'deny' })],
      req: mtls(ORDERS),
      allowed: false,
      reason: 'denied by prod/deny rule 0',
      rule: 0,
    },
    {
      // validation rejects a DENY without rules; a value built in code still evaluates to "never matches"
      name: 'DENY with no rules matches nothing',
      policies: [
        compileAuthorizationPolicy({ ...ap({ action: 'DENY', rules: [{}] }, { name: 'd' }), rules: [] }),
      ],
      req: mtls(ORDERS),
      allowed: true,
      reason: 'no allow policies, and no deny policy matched',
    },
    {
      name: 'rule index is the matching one',
      policies: [
        cap(
          {
            rules: [{ to: [{ operation: { ports: ['1'] } }] }, { to: [{ operation: { ports: ['8080'] } }] }],
          },
          { name: 'two' },
        ),
      ],
      req: mtls(ORDERS),
      allowed: true,
      reason: 'allowed by prod/two rule 1',
      rule: 1,
    },
    {
      name: 'CUSTOM match is denied for safety',
      policies: [
        allowAll,
        cap({ action: 'CUSTOM', provider: { name: 'ext' }, rules: [{}] }, { name: 'ext' }),
      ],
      req: mtls(ORDERS),
      allowed: false,
      reason: 'denied by prod/ext rule 0: CUSTOM provider "ext" is not supported',
      rule: 0,
    },
    {
      name: 'CUSTOM not matching is skipped',
      policies: [
        cap(
          { action: 'CUSTOM', provider: { name: 'ext' }, rules: [{ to: [{ operation: { ports: ['1'] } }] }] },
          { name: 'ext' },
        ),
      ],
      req: mtls(ORDERS),
      allowed: true,
      reason: 'no allow policies, and no deny policy matched',
    },
    {
      name: 'AUDIT does not change the decision',
      policies: [cap({ action: 'AUDIT', rules: [{}] }, { name: 'audit' })],
      req: mtls(ORDERS),
      allowed: true,
      reason: 'no policies',
    },
    {
      name: 'dry-run DENY is not enforced',
      policies: [
        cap({ action: 'DENY', rules: [{}] }, { name: 'dry', annotations: { 'istio.io/dry-run': 'true' } }),
      ],
      req: mtls(ORDERS),
      allowed: true,
      reason: 'no policies',
    },
  ];
  it.each(cases)('$name', ({ policies, req, allowed, reason, rule }) => {
    const d = evaluate(policies, req);
    expect(d.allowed).toBe(allowed);
    expect(d.reason).toBe(reason);
    expect(d.ruleIndex).toBe(rule);
  });

  it('reports audit and dry-run matches', () => {
    const d = evaluate(
      [
        cap({ action: 'AUDIT', rules: [{ to: [{ operation: { ports: ['1'] } }] }, {}] }, { name: 'audit' }),
        cap({ action: 'DENY', rules: [{}] }, { name: 'dry', annotations: { 'istio.io/dry-run': 'true' } }),
      ],
      mtls(ORDERS),
    );
    expect(d.auditMatches).toEqual([
      { policy: 'prod/audit', namespace: 'prod', name: 'audit', action: 'AUDIT', ruleIndex: 1 },
    ]);
    expect(d.dryRunMatches).toEqual([
      { policy: 'prod/dry', namespace: 'prod', name: 'dry', action: 'DENY', ruleIndex: 0 },
    ]);
  });
});

describe('explain (weftctl check authz)', () => {
  it('lists every applicable policy with the rule that matched', () => {
    const e = explain(
      [
        cap(
          {
            rules: [
              { to: [{ operation: { ports: ['1'] } }] },
              { from: [{ source: { principals: [ORDERS] } }] },
            ],
          },
          { name: 'allow' },
        ),
        cap(
          { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] },
          { name: 'deny-admin' },
        ),
        cap({ action: 'DENY', rules: [{}] }, { name: 'dry', annotations: { 'istio.io/dry-run': 'true' } }),
      ],
      http(ORDERS, 'GET', '/'),
    );
    expect(formatExplanation(e)).toBe(
      [
        'ALLOW: allowed by prod/allow rule 1',
        '  DENY prod/deny-admin: no rule matched (1 rules)',
        '  ALLOW prod/allow: matched rule 1',
        '  DENY (dry-run) prod/dry: matched rule 0',
      ].join('\n'),
    );
  });
});

describe('dry-run shadow decision', () => {
  const allowAll = cap({ rules: [{}] }, { name: 'allow-all' });
  const dryDeny = cap(
    { action: 'DENY', rules: [{ to: [{ operation: { ports: ['8080'] } }] }] },
    { name: 'dry-deny', annotations: { 'istio.io/dry-run': 'true' } },
  );
  const dryAllowOrders = cap(
    { rules: [{ from: [{ source: { principals: [ORDERS] } }] }] },
    { name: 'dry-allow', annotations: { 'istio.io/dry-run': 'true' } },
  );
  const cases = [
    {
      name: 'dry-run DENY would deny',
      policies: [allowAll, dryDeny],
      req: mtls(ORDERS),
      allowed: true,
      shadow: 'denied by prod/dry-deny rule 0',
    },
    {
      name: 'dry-run ALLOW would deny others',
      policies: [dryAllowOrders],
      req: mtls('cluster.local/ns/prod/sa/web'),
      allowed: true,
      shadow: 'allow policies exist, but none matched',
    },
    {
      name: 'dry-run ALLOW would allow orders',
      policies: [dryAllowOrders],
      req: mtls(ORDERS),
      allowed: true,
      shadow: 'allowed by prod/dry-allow rule 0',
    },
  ];
  it.each(cases)('$name', ({ policies, req, allowed, shadow }) => {
    const d = evaluate(policies, req);
    expect(d.allowed).toBe(allowed);
    expect(d.dryRun?.reason).toBe(shadow);
  });

  it('no dry-run policies → no shadow decision', () => {
    expect(evaluate([allowAll], mtls(ORDERS)).dryRun).toBeUndefined();
  });
});
