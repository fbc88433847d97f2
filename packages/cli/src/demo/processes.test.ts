import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasMarker, isAlive, markedProcesses, spawnDetached, stopProcesses } from './processes.js';

describe('demo processes (detached, marked, stopped by marker)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-demo-proc-'));
  afterAll(async () => {
    await stopProcesses(await markedProcesses(dir), dir, 500);
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts a detached process with its log, finds it by marker, and stops it', async () => {
    const log = join(dir, 'p.log');
    const pid = spawnDetached(
      { name: 'p', argv: ['sh', '-c', 'echo started; exec sleep 30'], env: {}, cwd: dir, logFile: log },
      dir,
    );
    expect(isAlive(pid)).toBe(true);
    for (let i = 0; i < 100 && !readFileSync(log, 'utf8').includes('started'); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(readFileSync(log, 'utf8')).toContain('started');
    expect(await hasMarker(pid, dir)).toBe(true);
    expect(await hasMarker(pid, `${dir}-other`)).toBe(false);
    expect(await markedProcesses(dir)).toEqual([pid]);
    expect(await stopProcesses([pid], dir, 2000)).toEqual([pid]);
    expect(isAlive(pid)).toBe(false);
  });

  it('never signals a process without the marker (a reused pid)', async () => {
    expect(await stopProcesses([process.pid], dir, 100)).toEqual([]);
    expect(isAlive(process.pid)).toBe(true);
  });
});
