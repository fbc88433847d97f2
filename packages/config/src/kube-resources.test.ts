import { describe, expect, it } from 'vitest';
import { groupOf, KINDS } from './kinds.js';
import { KUBE_RESOURCES } from './kube-resources.js';

describe('KUBE_RESOURCES', () => {
  it('has one API collection for every kind Weft reads, and nothing else', () => {
    const listed = KUBE_RESOURCES.map((r) => `${groupOf(r.apiVersion)}/${r.kind}`).sort();
    expect(listed).toEqual(KINDS.map((k) => `${k.group}/${k.kind}`).sort());
    for (const r of KUBE_RESOURCES) {
      const group = groupOf(r.apiVersion);
      expect(r.path.startsWith(group === '' ? '/api/v1/' : `/apis/${r.apiVersion}/`)).toBe(true);
      // Only CRDs may be missing from a cluster.
      expect(r.optional === true).toBe(group !== '' && group !== 'discovery.k8s.io');
    }
  });
});
