import { describe, expect, it } from 'vitest';
import {
  decideEnrollment,
  effectiveMtlsMode,
  failsClosed,
  type PeerAuthenticationObject,
} from './enrollment.js';

const base = { namespace: 'prod', namespaceLabels: {}, podLabels: {}, excludeNamespaces: ['kube-system'] };

describe('decideEnrollment', () => {
  it.each([
    ['namespace ambient', { namespaceLabels: { 'istio.io/dataplane-mode': 'ambient' } }, true],
    ['pod ambient', { podLabels: { 'istio.io/dataplane-mode': 'ambient' } }, true],
    [
      'pod opts out of an ambient namespace',
      {
        namespaceLabels: { 'istio.io/dataplane-mode': 'ambient' },
        podLabels: { 'istio.io/dataplane-mode': 'none' },
      },
      false,
    ],
    ['no labels', {}, false],
    [
      'excluded namespace',
      { namespace: 'kube-system', namespaceLabels: { 'istio.io/dataplane-mode': 'ambient' } },
      false,
    ],
    [
      'sidecar pod',
      {
        namespaceLabels: { 'istio.io/dataplane-mode': 'ambient' },
        podAnnotations: { 'sidecar.istio.io/status': '{}' },
      },
      false,
    ],
  ])('%s', (_name, over, enrolled) => {
    expect(decideEnrollment({ ...base, ...over }).enrolled).toBe(enrolled);
  });
});

const pa = (
  namespace: string,
  name: string,
  mode: string | undefined,
  matchLabels?: Record<string, string>,
  creationTimestamp = '2026-01-01T00:00:00Z',
): PeerAuthenticationObject => ({
  metadata: { namespace, name, creationTimestamp },
  spec: { ...(matchLabels ? { selector: { matchLabels } } : {}), ...(mode ? { mtls: { mode } } : {}) },
});

describe('effectiveMtlsMode', () => {
  it.each([
    ['nothing → PERMISSIVE', [], 'PERMISSIVE'],
    ['mesh-wide STRICT', [pa('istio-system', 'default', 'STRICT')], 'STRICT'],
    [
      'namespace overrides mesh',
      [pa('istio-system', 'default', 'STRICT'), pa('prod', 'ns', 'PERMISSIVE')],
      'PERMISSIVE',
    ],
    [
      'workload overrides namespace',
      [pa('prod', 'ns', 'PERMISSIVE'), pa('prod', 'web', 'STRICT', { app: 'web' })],
      'STRICT',
    ],
    ['selector that does not match is ignored', [pa('prod', 'db', 'STRICT', { app: 'db' })], 'PERMISSIVE'],
    ['UNSET inherits', [pa('istio-system', 'default', 'STRICT'), pa('prod', 'ns', undefined)], 'STRICT'],
    [
      'oldest wins',
      [
        pa('prod', 'b', 'STRICT', undefined, '2026-02-01T00:00:00Z'),
        pa('prod', 'a', 'PERMISSIVE', undefined, '2026-01-01T00:00:00Z'),
      ],
      'PERMISSIVE',
    ],
    ['other namespaces are ignored', [pa('dev', 'x', 'STRICT')], 'PERMISSIVE'],
  ] as const)('%s', (_name, pas, mode) => {
    expect(
      effectiveMtlsMode(pas as readonly PeerAuthenticationObject[], 'prod', 'istio-system', { app: 'web' }),
    ).toBe(mode);
  });

  it('fails closed only where it must', () => {
    expect(failsClosed('auto', 'STRICT')).toBe(true);
    expect(failsClosed('auto', 'PERMISSIVE')).toBe(false);
    expect(failsClosed('auto', undefined)).toBe(true);
    expect(failsClosed('open', 'STRICT')).toBe(false);
    expect(failsClosed('closed', 'PERMISSIVE')).toBe(true);
  });
});
