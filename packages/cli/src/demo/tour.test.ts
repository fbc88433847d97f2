import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STATE_DIR } from './state.js';
import { renderTour, tourSteps } from './tour.js';

const README = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');

describe('demo tour', () => {
  it('README.md\'s "Demo tour" section has every command the tour prints', () => {
    const start = README.indexOf('## Demo tour');
    expect(start).toBeGreaterThan(-1);
    const section = README.slice(start, README.indexOf('\n## ', start + 1));
    for (const step of tourSteps(DEFAULT_STATE_DIR)) {
      expect(section).toContain(step.title);
      for (const command of step.commands) expect(section).toContain(command);
    }
  });

  it('marks steps whose components are missing', () => {
    const text = renderTour('/run/x', new Set(['waypoint']));
    expect(text).toMatch(/AuthorizationPolicy.*\[not available: waypoint missing\]/);
    expect(text).not.toMatch(/PERMISSIVE: plaintext.*not available/);
    expect(text).toContain('/run/x/logs/node1.log');
  });
});
