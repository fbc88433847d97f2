import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('bench/xds --quick', () => {
  it('runs pilot and clients end to end and prints JSON and a summary line', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/xds/run.ts', '--quick'], {
      cwd: root,
      timeout: 60_000,
    });
    const summary = stdout.trim().split('\n').pop() ?? '';
    expect(summary).toMatch(/^xds: full sync 1000\/200\/100 → 3 clients \d+ ms/);
    const json = JSON.parse(stdout.slice(0, stdout.lastIndexOf('}') + 1)) as {
      quick: boolean;
      fullSync: { ms: number; baselineMs: number };
      update: { samples: number; p50Ms: number; p99Ms: number };
      memory: { pilotRssMiB: number };
    };
    expect(json.quick).toBe(true);
    expect(json.fullSync.ms).toBeGreaterThan(0);
    expect(json.update.samples).toBe(5);
    expect(json.update.p99Ms).toBeGreaterThanOrEqual(json.update.p50Ms);
    expect(json.memory.pilotRssMiB).toBeGreaterThan(0);
  }, 90_000);
});
