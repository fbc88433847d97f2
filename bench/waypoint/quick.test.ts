import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('bench/waypoint --quick', () => {
  it('runs the waypoint, the app and (when installed) haproxy, and reports JSON and a summary', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/waypoint/run.ts', '--quick'], {
      cwd: root,
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const summary = stdout.trim().split('\n').pop() ?? '';
    expect(summary).toMatch(/^waypoint: max \d+ req\/s p99<10ms/);
    const json = JSON.parse(stdout.slice(0, stdout.lastIndexOf('}') + 1)) as {
      quick: boolean;
      badTokenRefused: boolean;
      http1: Record<string, { fixed1k: { rps: number; errors: number; non2xx: number } }>;
    };
    expect(json.quick).toBe(true);
    expect(json.badTokenRefused).toBe(true);
    for (const name of ['direct', 'waypoint']) {
      const r = json.http1[name]?.fixed1k;
      expect(r?.rps).toBeGreaterThan(0);
      expect(r?.errors).toBe(0);
      expect(r?.non2xx).toBe(0);
    }
  }, 150_000);
});
