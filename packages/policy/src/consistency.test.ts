import { describe, expect, it } from 'vitest';
import { compileAuthorizationPolicy } from './compile.js';
import { evaluate } from './evaluate.js';
import { evaluateL4 } from './evaluate-l4.js';
import { projectL4 } from './project-l4.js';
import { ap } from './test-helpers.js';

/** Deterministic pseudo-random generator so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const PRINCIPALS = [
  'cluster.local/ns/a/sa/x',
  'cluster.local/ns/b/sa/y',
  'cluster.local/ns/a/*',
  '*/sa/y',
  '*',
];
const NAMESPACES = ['a', 'b', 'c*', '*'];
const CIDRS = ['10.0.0.0/8', '10.1.0.0/16', '192.168.0.1', 'fd00::/8'];
const PORTS = ['80', '443', '8080'];

function pick<T>(r: () => number, xs: readonly T[], max = 2): T[] {
  const n = Math.floor(r() * (max + 1));
  return Array.from({ length: n }, () => xs[Math.floor(r() * xs.length)]!);
}

function randomSource(r: () => number): Record<string, string[]> {
  const s: Record<string, string[]> = {};
  const fields: Array<[string, readonly string[]]> = [
    ['principals', PRINCIPALS],
    ['notPrincipals', PRINCIPALS],
    ['namespaces', NAMESPACES],
    ['notNamespaces', NAMESPACES],
    ['ipBlocks', CIDRS],
    ['notIpBlocks', CIDRS],
  ];
  for (const [f, xs] of fields) if (r() < 0.3) s[f] = pick(r, xs, 2).concat(xs[0]!);
  if (Object.keys(s).length === 0) s.principals = [PRINCIPALS[0]!];
  return s;
}

function randomPolicy(r: () => number, i: number) {
  const action = r() < 0.3 ? 'DENY' : 'ALLOW';
  // a DENY needs at least one rule (Istio rejects it otherwise)
  const rules = Array.from({ length: Math.floor(r() * 3) + (action === 'DENY' ? 1 : 0) }, () => {
    const rule: Record<string, unknown> = {};
    if (r() < 0.7)
      rule.from = Array.from({ length: 1 + Math.floor(r() * 2) }, () => ({ source: randomSource(r) }));
    if (r() < 0.5)
      rule.to = [
        { operation: r() < 0.5 ? { ports: pick(r, PORTS, 2).concat('80') } : { notPorts: ['443'] } },
      ];
    if (r() < 0.3)
      rule.when = [
        { key: r() < 0.5 ? 'source.ip' : 'destination.ip', values: pick(r, CIDRS, 1).concat('10.0.0.0/8') },
      ];
    return rule;
  });
  return ap({ action, rules }, { name: `p${i}` });
}

describe('L7 evaluate and the L4 projection agree on policies without HTTP attributes', () => {
  it('500 random policy sets × 20 random connections', () => {
    const r = rng(7);
    let checked = 0;
    let allowed = 0;
    const mismatches: Array<{ set: number; k: number; l4: string; l7: string }> = [];
    for (let set = 0; set < 500; set++) {
      const policies = Array.from({ length: 1 + Math.floor(r() * 3) }, (_, i) => randomPolicy(r, i));
      const compiled = policies.map((p) => compileAuthorizationPolicy(p));
      const l4 = policies.map((p) => projectL4(p).authorization!);
      for (let k = 0; k < 20; k++) {
        const principal =
          r() < 0.2
            ? undefined
            : ['cluster.local/ns/a/sa/x', 'cluster.local/ns/b/sa/y', 'cluster.local/ns/c/sa/z'][
                Math.floor(r() * 3)
              ]!;
        const sourceIp = ['10.0.0.1', '10.1.2.3', '192.168.0.1', 'fd00::1', '172.16.0.1'][
          Math.floor(r() * 5)
        ]!;
        const destinationIp = ['10.9.9.9', '172.16.0.2'][Math.floor(r() * 2)]!;
        const destinationPort = [80, 443, 8080, 9090][Math.floor(r() * 4)]!;
        const l7 = evaluate(compiled, {
          sourcePrincipal: principal,
          sourceIp,
          destinationIp,
          destinationPort,
        });
        const d4 = evaluateL4(l4, { sourceIdentity: principal, sourceIp, destinationIp, destinationPort });
        if (d4.allowed !== l7.allowed || d4.policy?.policy !== l7.policy?.policy) {
          mismatches.push({ set, k, l4: d4.reason, l7: l7.reason });
        }
        checked++;
        if (l7.allowed) allowed++;
      }
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBe(10_000);
    // both outcomes are well represented, so agreement means something
    expect(allowed).toBeGreaterThan(1_000);
    expect(allowed).toBeLessThan(9_000);
  });
});
