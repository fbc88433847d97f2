/**
 * `weftctl demo up --reduced`: the part of the demo that needs no root (weft-pilot on loopback with the
 * demo config). Runs as any user; checks what the reduced mode promises and that `demo down` removes it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = new URL('../../../', import.meta.url).pathname;
const bin = join(repo, 'packages/cli/bin/weftctl.mjs');

function dispatchSkipReason(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  try {
    const help = execFileSync(process.execPath, [bin, 'help'], {
      cwd: repo,
      encoding: 'utf8',
      timeout: 30_000,
    });
    return /\bdemo\b/.test(help) ? undefined : 'weftctl in this build does not list the demo command';
  } catch (err) {
    return `weftctl does not run: ${String(err).slice(0, 200)}`;
  }
}
const skip = dispatchSkipReason();
if (skip !== undefined) console.warn(`[e2e demo --reduced] skipping: ${skip}`);

const workDir = skip === undefined ? mkdtempSync(join(tmpdir(), 'weft-demo-reduced-')) : tmpdir();
const stateDir = join(workDir, 'state');

/** Processes started by this test's demo (they carry its marker). */
function markedProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (
        readFileSync(`/proc/${entry}/environ`, 'latin1')
          .split('\0')
          .includes(`WEFTCTL_DEMO_OWNER=${stateDir}`)
      )
        pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

function weftctl(
  args: string[],
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: repo, timeout: timeoutMs, env: { ...process.env, WEFTCTL_DEMO_DIR: stateDir } },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 99, stdout, stderr }),
    );
  });
}

describe.skipIf(skip !== undefined)('weftctl demo up --reduced (no root needed)', () => {
  afterAll(async () => {
    if (skip !== undefined) return;
    await weftctl(['demo', 'down']);
    // Safety net if weftctl itself could not run: nothing this test started may outlive it.
    for (const pid of markedProcesses()) process.kill(pid, 'SIGKILL');
    rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  it('runs pilot with the demo config, says what it does not run, and serves the CA, tokens and policy edits', async () => {
    const up = await weftctl(['demo', 'up', '--reduced'], 90_000);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/ok\s+pilot/);
    expect(up.stdout).toContain('It does NOT run pods, node agents or a waypoint');
    const ca = await weftctl(['ca', 'status', '-o', 'json']);
    expect(ca.code, ca.stderr).toBe(0);
    expect((JSON.parse(ca.stdout) as { phase: string }).phase).toBe('steady');
    const token = await weftctl(['demo', 'token', 'valid']);
    expect(token.stdout.trim().split('.')).toHaveLength(3);
    expect((await weftctl(['demo', 'apply', 'authz'])).code).toBe(0);
    expect(existsSync(join(stateDir, 'config', '06-security.yaml'))).toBe(true);
    const exec = await weftctl(['demo', 'exec', 'web', '--', 'true']);
    expect(exec.code).toBe(2);
    expect(exec.stderr).toContain('WEFT_DEMO_NOT_RUNNING');
  }, 120_000);

  it('demo down stops pilot and removes the state directory', async () => {
    expect((await weftctl(['demo', 'down'])).code).toBe(0);
    expect(existsSync(stateDir)).toBe(false);
    const ca = await weftctl(['ca', 'status']);
    expect(ca.code).toBe(2);
  });
});
