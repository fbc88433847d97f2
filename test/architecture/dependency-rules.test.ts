import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDependencyRules } from '../../scripts/dependency-rules.js';

const root = join(import.meta.dirname, '..', '..');

describe('dependency rules (DESIGN.md)', () => {
  it('hold for the whole repository', () => {
    expect(checkDependencyRules(root)).toEqual([]);
  });

  it('catch each kind of wrong import in the fixture', () => {
    const rules = checkDependencyRules(join(root, 'test/fixtures/bad-imports')).map(
      (v) => `${v.file}: ${v.rule}`,
    );
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/waypoint\/src\/bad\.ts: app waypoint imports app pilot/),
        expect.stringMatching(/policy\/src\/bad\.ts: library policy imports app node-agent/),
        expect.stringMatching(/policy\/src\/bad\.ts: deep import into hbone's internals/),
        expect.stringMatching(/waypoint\/src\/bad\.ts: relative import reaches into package certs/),
      ]),
    );
    expect(rules).toHaveLength(4);
  });
});
