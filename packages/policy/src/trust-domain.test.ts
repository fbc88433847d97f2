import { describe, expect, it } from 'vitest';
import { compileAuthorizationPolicy } from './compile.js';
import { evaluate } from './evaluate.js';
import { evaluateL4 } from './evaluate-l4.js';
import { projectL4 } from './project-l4.js';
import { ap } from './test-helpers.js';
import { expandPrincipals } from './trust-domain.js';

const opts = { trustDomain: 'new.td', trustDomainAliases: ['old.td'] };

describe('expandPrincipals (trust domain aliases)', () => {
  const cases: Array<[string, string[]]> = [
    ['old.td/ns/prod/sa/orders', ['new.td/ns/prod/sa/orders', 'old.td/ns/prod/sa/orders']],
    ['new.td/ns/prod/sa/orders', ['new.td/ns/prod/sa/orders', 'old.td/ns/prod/sa/orders']],
    ['cluster.local/ns/prod/sa/orders', ['new.td/ns/prod/sa/orders', 'old.td/ns/prod/sa/orders']],
    ['other.td/ns/prod/sa/orders', ['other.td/ns/prod/sa/orders']],
    ['*/ns/prod/sa/orders', ['*/ns/prod/sa/orders']],
    ['*', ['*']],
    ['test.client', ['test.client']],
    ['old.td/ns/prod/*', ['new.td/ns/prod/*', 'old.td/ns/prod/*']],
  ];
  it.each(cases)('%s', (v, want) => {
    expect([...expandPrincipals([v], opts)]).toEqual(want);
  });

  it('is the identity without aliases', () => {
    const v = ['cluster.local/ns/a/sa/b'];
    expect(expandPrincipals(v, {})).toBe(v);
  });

  it('applies to L7 evaluation and the L4 projection', () => {
    const p = ap({ rules: [{ from: [{ source: { principals: ['old.td/ns/prod/sa/orders'] } }] }] });
    const id = 'spiffe://new.td/ns/prod/sa/orders';
    expect(evaluate([compileAuthorizationPolicy(p, opts)], { sourcePrincipal: id }).allowed).toBe(true);
    expect(evaluate([compileAuthorizationPolicy(p)], { sourcePrincipal: id }).allowed).toBe(false);
    const l4 = projectL4(p, 'istio-system', opts).authorization!;
    expect(
      evaluateL4([l4], {
        sourceIdentity: id,
        sourceIp: '10.0.0.1',
        destinationIp: '10.0.0.2',
        destinationPort: 80,
      }).allowed,
    ).toBe(true);
  });
});
