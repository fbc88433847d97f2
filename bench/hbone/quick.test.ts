import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hasCommand } from '@weft/testkit';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const skip = hasCommand('iperf3') ? undefined : 'needs iperf3 (scripts/setup.sh installs it)';

describe.skipIf(skip !== undefined)(`bench/hbone --quick${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('runs every pair it can, tunnels without errors, and prints JSON and a summary', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/hbone/run.ts', '--quick'], {
      cwd: root,
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const summary = stdout.trim().split('\n').pop() ?? '';
    expect(summary).toMatch(/^hbone: 1-conn \d+ MB\/s/);
    const json = JSON.parse(stdout.slice(0, stdout.lastIndexOf('}') + 1)) as {
      quick: boolean;
      skipped: string[];
      results: Record<string, { iperf1?: { mbps: number }; newConnections?: { failed: number } }> & {
        tunnels: { pooled: { perSec: number; failed: number }; unpooled: { perSec: number; failed: number } };
      };
    };
    expect(json.quick).toBe(true);
    if (json.skipped.length > 0) console.log(`bench/hbone --quick skipped peers: ${json.skipped.join(', ')}`);
    expect(json.results.weft?.iperf1?.mbps).toBeGreaterThan(0);
    expect(json.results.weft?.newConnections?.failed).toBe(0);
    expect(json.results.tunnels.pooled.failed).toBe(0);
    expect(json.results.tunnels.unpooled.failed).toBe(0);
    expect(json.results.tunnels.pooled.perSec).toBeGreaterThan(0);
  }, 70_000);
});
