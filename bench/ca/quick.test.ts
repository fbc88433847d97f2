import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('bench/ca --quick', () => {
  it('runs, signs over gRPC without errors, and prints JSON and a summary', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/ca/run.ts', '--quick'], {
      cwd: root,
      timeout: 60_000,
    });
    const summary = stdout.trim().split('\n').pop() ?? '';
    expect(summary).toMatch(/^ca: in-process \d+ signed\/s, gRPC \d+ signed\/s/);
    const json = JSON.parse(stdout.slice(0, stdout.lastIndexOf('}') + 1)) as {
      quick: boolean;
      results: {
        inProcess: { perSecond: number };
        grpc: { signed: number; errors: number; perSecond: number };
        clientKeyAndCsr: { msPerOp: number };
      };
    };
    expect(json.quick).toBe(true);
    expect(json.results.inProcess.perSecond).toBeGreaterThan(0);
    expect(json.results.grpc.signed).toBeGreaterThan(0);
    expect(json.results.grpc.errors).toBe(0);
    expect(json.results.clientKeyAndCsr.msPerOp).toBeGreaterThan(0);
  }, 60_000);
});
