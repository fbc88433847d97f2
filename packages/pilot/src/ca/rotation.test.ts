import { describe, expect, it } from 'vitest';
import { addRoot, type CaState, phaseOf, retireRoots, retireSafeAt, switchRoot } from './rotation.js';

const root = (n: string) => ({ certPem: `cert-${n}`, keyPem: `key-${n}`, addedAt: 0 });
const steady: CaState = { version: 1, roots: [root('a')], issuing: 0 };
const H = 3600_000;

describe('staged root rotation', () => {
  it('goes steady → added → switched → steady with the bundle version growing on root changes', () => {
    expect(phaseOf(steady)).toBe('steady');
    const added = addRoot(steady, root('b'));
    expect(phaseOf(added)).toBe('added');
    expect(added).toMatchObject({ version: 2, issuing: 0 });
    const switched = switchRoot(added, 10 * H);
    expect(phaseOf(switched)).toBe('switched');
    expect(switched).toMatchObject({ version: 2, issuing: 1, switchedAt: 10 * H });
    expect(retireSafeAt(switched, 24 * H)).toBe(34 * H);
    const retired = retireRoots(switched, 34 * H, 24 * H);
    expect(retired).toEqual({ version: 3, roots: [root('b')], issuing: 0 });
    expect(phaseOf(retired)).toBe('steady');
  });

  it.each([
    ['add during a rotation', () => addRoot(addRoot(steady, root('b')), root('c')), 'WEFT_CA_ROTATION_STAGE'],
    ['switch with one root', () => switchRoot(steady, 0), 'WEFT_CA_ROTATION_STAGE'],
    [
      'switch twice',
      () => switchRoot(switchRoot(addRoot(steady, root('b')), 0), 0),
      'WEFT_CA_ROTATION_STAGE',
    ],
    [
      'retire before switch',
      () => retireRoots(addRoot(steady, root('b')), 100 * H, H),
      'WEFT_CA_ROTATION_STAGE',
    ],
    ['retire in steady state', () => retireRoots(steady, 100 * H, H), 'WEFT_CA_ROTATION_STAGE'],
    [
      'retire too early',
      () => retireRoots(switchRoot(addRoot(steady, root('b')), 10 * H), 33 * H, 24 * H),
      'WEFT_CA_RETIRE_TOO_EARLY',
    ],
  ])('refuses to %s', (_name, run, code) => {
    expect(run).toThrow(expect.objectContaining({ code }));
  });

  it('retires early only when forced', () => {
    const switched = switchRoot(addRoot(steady, root('b')), 10 * H);
    expect(retireRoots(switched, 11 * H, 24 * H, true).roots).toEqual([root('b')]);
  });
});
