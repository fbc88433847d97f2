import { describe, expect, it } from 'vitest';
import { addPlugin, primaryConfigFile, removePlugin, toConflist } from './conflist.js';

const bridge = { type: 'bridge', bridge: 'cni0', ipam: { type: 'host-local' } };

describe('conflist editing', () => {
  it('picks the runtime’s file: first by name of conflist/conf/json', () => {
    expect(primaryConfigFile(['weft-cni-kubeconfig', '20-b.conflist', '10-a.conf', '.tmp.conflist'])).toBe(
      '10-a.conf',
    );
    expect(primaryConfigFile(['README'])).toBeUndefined();
  });

  it('converts a single-plugin conf', () => {
    expect(toConflist({ cniVersion: '1.0.0', name: 'k8s', ...bridge })).toEqual({
      cniVersion: '1.0.0',
      name: 'k8s',
      plugins: [bridge],
    });
  });

  it('appends once, replaces a changed entry, and removes it', () => {
    const list = { cniVersion: '1.0.0', name: 'k8s', plugins: [bridge, { type: 'portmap' }] };
    const first = addPlugin(list, { type: 'weft-cni', socketPath: '/a' });
    expect(first.changed).toBe(true);
    expect(first.conflist.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap', 'weft-cni']);
    expect(addPlugin(first.conflist, { type: 'weft-cni', socketPath: '/a' }).changed).toBe(false);
    const second = addPlugin(first.conflist, { type: 'weft-cni', socketPath: '/b' });
    expect(second.changed).toBe(true);
    expect(second.conflist.plugins.filter((p) => p.type === 'weft-cni')).toEqual([
      { type: 'weft-cni', socketPath: '/b' },
    ]);
    const removed = removePlugin(second.conflist);
    expect(removed.changed).toBe(true);
    expect(removed.conflist).toEqual(list);
    expect(removePlugin(list).changed).toBe(false);
  });
});
