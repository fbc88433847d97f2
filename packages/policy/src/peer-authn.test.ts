import { describe, expect, it } from 'vitest';
import { evaluateL4 } from './evaluate-l4.js';
import {
  convertPeerAuthentication,
  effectivePeerAuthentication,
  peerAuthenticationLevels,
  peerAuthenticationPolicyKeys,
  staticStrictPolicy,
} from './peer-authn.js';
import { pa } from './test-helpers.js';
import type { PeerAuthentication } from './types.js';

const W = { namespace: 'prod', labels: { app: 'payments' } };
const mesh = (mode: string, t = '2026-01-01T00:00:00Z') =>
  pa({ mtls: { mode } }, { name: `mesh-${mode}`, namespace: 'istio-system', creationTimestamp: t });
const ns = (mode: string, t = '2026-01-01T00:00:00Z', name = `ns-${mode}`) =>
  pa({ mtls: { mode } }, { name, namespace: 'prod', creationTimestamp: t });
const wl = (
  mode: string | undefined,
  ports: Record<string, string> = {},
  t = '2026-01-01T00:00:00Z',
  name = 'wl',
) =>
  pa(
    {
      selector: { matchLabels: { app: 'payments' } },
      ...(mode === undefined ? {} : { mtls: { mode } }),
      ...(Object.keys(ports).length === 0
        ? {}
        : { portLevelMtls: Object.fromEntries(Object.entries(ports).map(([p, m]) => [p, { mode: m }])) }),
    },
    { name, namespace: 'prod', creationTimestamp: t },
  );

describe('effectivePeerAuthentication (workload > namespace > mesh; oldest wins; UNSET inherits)', () => {
  const cases: Array<{
    name: string;
    policies: PeerAuthentication[];
    port?: number;
    mode: string;
    policy: string | null;
  }> = [
    { name: 'nothing → PERMISSIVE default', policies: [], mode: 'PERMISSIVE', policy: null },
    { name: 'mesh STRICT', policies: [mesh('STRICT')], mode: 'STRICT', policy: 'istio-system/mesh-STRICT' },
    {
      name: 'namespace overrides mesh',
      policies: [mesh('STRICT'), ns('PERMISSIVE')],
      mode: 'PERMISSIVE',
      policy: 'prod/ns-PERMISSIVE',
    },
    {
      name: 'namespace UNSET inherits mesh',
      policies: [mesh('STRICT'), ns('UNSET')],
      mode: 'STRICT',
      policy: 'istio-system/mesh-STRICT',
    },
    {
      name: 'workload overrides namespace',
      policies: [ns('STRICT'), wl('DISABLE')],
      mode: 'DISABLE',
      policy: 'prod/wl',
    },
    {
      name: 'workload UNSET inherits namespace',
      policies: [ns('STRICT'), wl(undefined)],
      mode: 'STRICT',
      policy: 'prod/ns-STRICT',
    },
    {
      name: 'port-level overrides workload',
      policies: [wl('STRICT', { 8080: 'PERMISSIVE' })],
      port: 8080,
      mode: 'PERMISSIVE',
      policy: 'prod/wl',
    },
    {
      name: 'other port keeps workload mode',
      policies: [wl('STRICT', { 8080: 'PERMISSIVE' })],
      port: 9090,
      mode: 'STRICT',
      policy: 'prod/wl',
    },
    {
      name: 'port-level STRICT under PERMISSIVE namespace',
      policies: [ns('PERMISSIVE'), wl(undefined, { 5432: 'STRICT' })],
      port: 5432,
      mode: 'STRICT',
      policy: 'prod/wl',
    },
    {
      name: 'oldest namespace policy wins',
      policies: [
        ns('STRICT', '2026-02-01T00:00:00Z', 'newer'),
        ns('PERMISSIVE', '2026-01-01T00:00:00Z', 'older'),
      ],
      mode: 'PERMISSIVE',
      policy: 'prod/older',
    },
    {
      name: 'oldest workload policy wins',
      policies: [
        wl('DISABLE', {}, '2026-03-01T00:00:00Z', 'b'),
        wl('STRICT', {}, '2026-01-01T00:00:00Z', 'a'),
      ],
      mode: 'STRICT',
      policy: 'prod/a',
    },
    {
      name: 'selector not matching is ignored',
      policies: [
        pa({ selector: { matchLabels: { app: 'web' } }, mtls: { mode: 'STRICT' } }, { namespace: 'prod' }),
      ],
      mode: 'PERMISSIVE',
      policy: null,
    },
    {
      name: 'other namespace is ignored',
      policies: [pa({ mtls: { mode: 'STRICT' } }, { namespace: 'dev' })],
      mode: 'PERMISSIVE',
      policy: null,
    },
    {
      name: 'root-namespace selector policy is ignored (ambient)',
      policies: [
        pa(
          { selector: { matchLabels: { app: 'payments' } }, mtls: { mode: 'STRICT' } },
          { namespace: 'istio-system' },
        ),
      ],
      mode: 'PERMISSIVE',
      policy: null,
    },
  ];
  it.each(cases)('$name', ({ policies, port, mode, policy }) => {
    const e = effectivePeerAuthentication(W, port ?? 8080, policies);
    expect(e.mode).toBe(mode);
    expect(e.policy).toBe(policy);
  });
});

describe('PeerAuthentication → L4 (what the node agent enforces)', () => {
  const plaintext = { sourceIp: '10.0.0.9', destinationIp: '10.0.1.1', destinationPort: 8080 };
  const mtls = { ...plaintext, sourceIdentity: 'spiffe://cluster.local/ns/prod/sa/orders' };
  const cases: Array<{
    name: string;
    policies: PeerAuthentication[];
    keys: string[];
    plain8080: boolean;
    plain9090: boolean;
  }> = [
    { name: 'no policy: plaintext allowed', policies: [], keys: [], plain8080: true, plain9090: true },
    {
      name: 'mesh STRICT: static strict',
      policies: [mesh('STRICT')],
      keys: ['istio-system/istio_converted_static_strict'],
      plain8080: false,
      plain9090: false,
    },
    {
      name: 'namespace STRICT',
      policies: [ns('STRICT')],
      keys: ['istio-system/istio_converted_static_strict'],
      plain8080: false,
      plain9090: false,
    },
    {
      name: 'namespace PERMISSIVE over mesh STRICT',
      policies: [mesh('STRICT'), ns('PERMISSIVE')],
      keys: [],
      plain8080: true,
      plain9090: true,
    },
    {
      name: 'workload STRICT with a PERMISSIVE port',
      policies: [wl('STRICT', { 8080: 'PERMISSIVE' })],
      keys: ['prod/converted_peer_authentication_wl'],
      plain8080: true,
      plain9090: false,
    },
    {
      name: 'workload STRICT, all ports STRICT → static',
      policies: [wl('STRICT', { 8080: 'STRICT' })],
      keys: ['istio-system/istio_converted_static_strict'],
      plain8080: false,
      plain9090: false,
    },
    {
      name: 'workload PERMISSIVE with a STRICT port',
      policies: [wl('PERMISSIVE', { 8080: 'STRICT' })],
      keys: ['prod/converted_peer_authentication_wl'],
      plain8080: false,
      plain9090: true,
    },
    {
      name: 'workload UNSET under STRICT namespace, PERMISSIVE port',
      policies: [ns('STRICT'), wl(undefined, { 8080: 'PERMISSIVE' })],
      keys: ['prod/converted_peer_authentication_wl'],
      plain8080: true,
      plain9090: false,
    },
    {
      name: 'workload UNSET under PERMISSIVE mesh, STRICT port',
      policies: [mesh('PERMISSIVE'), wl(undefined, { 8080: 'STRICT' })],
      keys: ['prod/converted_peer_authentication_wl'],
      plain8080: false,
      plain9090: true,
    },
    {
      name: 'workload DISABLE under STRICT namespace',
      policies: [ns('STRICT'), wl('DISABLE')],
      keys: [],
      plain8080: true,
      plain9090: true,
    },
  ];
  it.each(cases)('$name', ({ policies, keys, plain8080, plain9090 }) => {
    expect(peerAuthenticationPolicyKeys(W, policies)).toEqual(keys);
    const levels = peerAuthenticationLevels(W, policies);
    const l4 = keys.map((k) =>
      k.endsWith('istio_converted_static_strict')
        ? staticStrictPolicy()
        : convertPeerAuthentication(levels.workload!, levels)!,
    );
    expect(l4.every((a) => a !== null && a.action === 'DENY' && a.scope === 'WORKLOAD_SELECTOR')).toBe(true);
    expect(evaluateL4(l4, plaintext).allowed).toBe(plain8080);
    expect(evaluateL4(l4, { ...plaintext, destinationPort: 9090 }).allowed).toBe(plain9090);
    // HBONE (with a peer identity) is never refused by PeerAuthentication
    expect(evaluateL4(l4, mtls).allowed).toBe(true);
    // and the L4 result agrees with the effective mode
    expect(effectivePeerAuthentication(W, 8080, policies).mode === 'STRICT').toBe(!plain8080);
    expect(effectivePeerAuthentication(W, 9090, policies).mode === 'STRICT').toBe(!plain9090);
  });

  it('converted policy name and shape mirror istiod', () => {
    const w = wl('STRICT', { 8080: 'PERMISSIVE' });
    const a = convertPeerAuthentication(w, {});
    expect(a).toMatchObject({
      name: 'converted_peer_authentication_wl',
      namespace: 'prod',
      scope: 'WORKLOAD_SELECTOR',
      action: 'DENY',
      dryRun: false,
    });
    expect(
      a?.rules[0]?.clauses.map((c) => c.matches.map((m) => [m.notPrincipals, m.notDestinationPorts])),
    ).toEqual([[[[{ presence: {} }], []]], [[[], [8080]]]]);
    expect(convertPeerAuthentication(ns('STRICT'), {})).toBeNull();
  });
});
