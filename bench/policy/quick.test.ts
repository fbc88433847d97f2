import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('bench/policy --quick', () => {
  it('runs, prints JSON and a summary, and the indexed and naive evaluators agree', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/policy/run.ts', '--quick'], {
      cwd: root,
      timeout: 60_000,
    });
    const summary = stdout.trim().split('\n').pop() ?? '';
    expect(summary).toMatch(/^policy: L4 p50 \d+ ns @1k/);
    const json = JSON.parse(stdout.slice(0, stdout.lastIndexOf('}') + 1)) as {
      quick: boolean;
      results: Array<{
        policies: number;
        disagreements: { l4: number; l7: number };
        l4: { indexed: { decisionsPerSec: number }; naive: { decisionsPerSec: number } };
        l7: { indexed: { decisionsPerSec: number }; naive: { decisionsPerSec: number } };
      }>;
    };
    expect(json.quick).toBe(true);
    expect(json.results.map((r) => r.policies)).toEqual([10, 1_000, 10_000]);
    for (const r of json.results) {
      expect(r.disagreements).toEqual({ l4: 0, l7: 0 });
      expect(r.l4.indexed.decisionsPerSec).toBeGreaterThan(0);
      expect(r.l7.naive.decisionsPerSec).toBeGreaterThan(0);
    }
  });
});
