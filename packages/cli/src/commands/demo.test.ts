import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_OK, EXIT_USAGE } from '../command.js';
import { main } from '../main.js';
import { captureIo } from '../test-io.js';

// Everything here runs without a demo (and without root): usage, and what each verb says when none runs.
// No `demo down` here: as root it sweeps every weft-demo-* namespace, which would hit a demo running beside.
describe('weftctl demo (no demo running)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-demo-cmd-'));
  const stateDir = join(dir, 'state');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = async (...argv: string[]) => {
    const io = captureIo({ env: { WEFTCTL_DEMO_DIR: stateDir } });
    const code = await main(['demo', ...argv], io);
    return { code, out: io.out(), err: io.err() };
  };

  it('lists its verbs on a missing or unknown verb', async () => {
    for (const argv of [[], ['fly'], ['exec'], ['token']]) {
      const r = await run(...argv);
      expect(r.code).toBe(EXIT_USAGE);
      expect(r.err).toContain('weftctl demo up [--reduced]');
    }
  });

  it('says there is no demo, with the code, for verbs that need one', async () => {
    for (const argv of [
      ['exec', 'web', '--', 'true'],
      ['token', 'valid'],
      ['apply', 'strict'],
      ['traffic'],
    ]) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(EXIT_USAGE);
      expect(r.err).toContain('WEFT_DEMO_NOT_RUNNING');
      expect(r.err).toContain('weftctl demo up');
    }
    const status = await run('status');
    expect(status.code).toBe(1);
    expect(status.out).toContain('WEFT_DEMO_NOT_RUNNING');
  });

  it('prints the tour when nothing runs', async () => {
    const tour = await run('tour');
    expect(tour.code).toBe(EXIT_OK);
    expect(tour.out).toContain('weftctl demo apply strict');
    expect(tour.out).toContain(join(stateDir, 'logs/node1.log'));
  });
});
