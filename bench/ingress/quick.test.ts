import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hasCommand } from '@weft/testkit';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const skip = hasCommand('haproxy')
  ? undefined
  : 'haproxy is not installed (the peer this benchmark compares with)';

describe.skipIf(skip !== undefined)(`bench/ingress --quick ${skip ?? ''}`, () => {
  it('runs both proxies, enforces the deny rule on both, prints JSON and a summary', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/ingress/run.ts', '--quick'], {
      cwd: root,
      timeout: 90_000,
    });
    const summary = stdout.trim().split('\n').pop() ?? '';
    expect(summary).toMatch(
      /^ingress: weft-gateway \d+ req\/s p99 [\d.]+ ms \([\d.]+ vCPU\), haproxy \d+ req\/s p99 [\d.]+ ms \([\d.]+ vCPU\), ratio [\d.]+x/,
    );
    const json = JSON.parse(stdout.slice(0, stdout.lastIndexOf('}') + 1)) as {
      quick: boolean;
      checks: { weft418: number; haproxy418: number };
      results: {
        weft: { requestsPerSecond: number; errors: number; non2xx: number };
        haproxy: { requestsPerSecond: number; errors: number; non2xx: number };
      };
    };
    expect(json.quick).toBe(true);
    expect(json.checks).toEqual({ weft418: 403, haproxy418: 403 });
    expect(json.results.weft.requestsPerSecond).toBeGreaterThan(0);
    expect(json.results.haproxy.requestsPerSecond).toBeGreaterThan(0);
    expect(json.results.weft.errors).toBe(0);
    expect(json.results.weft.non2xx).toBe(0);
  }, 90_000);
});
