import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { commandsSkipReason, rootSkipReason } from '@weft/testkit';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const skip = rootSkipReason() ?? commandsSkipReason(['iperf3', 'stunnel4', 'nsenter', 'iptables-restore']);
if (skip !== undefined) console.warn(`[bench/l4-path] skipping --quick: ${skip}`);

describe.skipIf(skip !== undefined)('bench/l4-path --quick (root)', () => {
  it('runs the mesh, no-mesh and stunnel paths and prints JSON and a summary', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/l4-path/run.ts', '--quick'], {
      cwd: root,
      timeout: 150_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const summary = stdout.trim().split('\n').pop() ?? '';
    expect(summary).toMatch(/^l4-path: 1 conn mesh \d+ MB\/s/);
    const json = JSON.parse(stdout.slice(0, stdout.lastIndexOf('}') + 1)) as {
      quick: boolean;
      results: {
        throughputMBps: Record<string, { none: number; mesh: number; stunnel: number }>;
        latency: { mesh: { errors: number; requests: number } };
        idleTunnels: { open: number; failed: number };
      };
    };
    expect(json.quick).toBe(true);
    for (const k of ['conns1', 'conns8']) {
      expect(json.results.throughputMBps[k]?.mesh).toBeGreaterThan(0);
      expect(json.results.throughputMBps[k]?.stunnel).toBeGreaterThan(0);
    }
    expect(json.results.latency.mesh.errors).toBe(0);
    expect(json.results.idleTunnels.failed).toBe(0);
  }, 160_000);
});
