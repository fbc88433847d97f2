import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@weft/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectorySource } from './directory.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const nsYaml = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}}\n`;

async function start(dir: string, options: Partial<ConstructorParameters<typeof DirectorySource>[0]> = {}) {
  let changes = 0;
  const events: { eventAt: number | undefined; reportedAt: number }[] = [];
  const source = new DirectorySource({ dir, pollMs: 0, ...options });
  cleanups.push(() => source.close());
  await source.start((eventAt) => {
    changes++;
    events.push({ eventAt, reportedAt: performance.now() });
  });
  const names = () =>
    source
      .snapshot()
      .objects.map((o) => o.name)
      .sort();
  return { source, names, changes: () => changes, events };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'weft-dir-source-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('DirectorySource', () => {
  it('reads YAML recursively, ignores dotfiles and other extensions, and follows new subdirectories', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), nsYaml('a'));
    writeFileSync(join(dir, '.a.yaml.swp'), nsYaml('swap'));
    writeFileSync(join(dir, 'notes.txt'), nsYaml('txt'));
    mkdirSync(join(dir, 'team'));
    writeFileSync(join(dir, 'team', 'b.yml'), nsYaml('b'));
    const { names } = await start(dir);
    expect(names()).toEqual(['a', 'b']);

    mkdirSync(join(dir, 'team', 'later'));
    writeFileSync(
      join(dir, 'team', 'later', 'c.json'),
      JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'c' } }),
    );
    await waitFor(() => names().includes('c'), { what: 'a file in a new subdirectory' });
    // The new directory is watched too.
    writeFileSync(join(dir, 'team', 'later', 'd.yaml'), nsYaml('d'));
    await waitFor(() => names().includes('d'), { what: 'a second file in the new subdirectory' });
  });

  it('survives repeated atomic saves of the same file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ns.yaml'), nsYaml('v0'));
    const { names } = await start(dir);
    for (let i = 1; i <= 5; i++) {
      writeFileSync(join(dir, 'ns.yaml.tmp'), nsYaml(`v${i}`));
      renameSync(join(dir, 'ns.yaml.tmp'), join(dir, 'ns.yaml'));
      await waitFor(() => names().join() === `v${i}`, { what: `save ${i}` });
    }
  });

  it('skips oversized files with a located problem and keeps the rest', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'big.yaml'), `${nsYaml('big')}# ${'x'.repeat(500)}\n`);
    writeFileSync(join(dir, 'small.yaml'), nsYaml('small'));
    const { source, names } = await start(dir, { maxFileBytes: 200 });
    expect(names()).toEqual(['small']);
    expect(source.snapshot().problems).toMatchObject([
      { code: 'WEFT_CONFIG_TOO_LARGE', location: { file: 'big.yaml', line: 1 } },
    ]);
  });

  it('keeps the last good state when the directory disappears, and says why', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), nsYaml('a'));
    const { source, names } = await start(dir);
    rmSync(dir, { recursive: true, force: true });
    await source.rescan();
    expect(names()).toEqual(['a']);
    expect(source.snapshot().problems.map((p) => p.code)).toEqual(['WEFT_PILOT_CONFIG_DIR']);
  });

  it('reports when the watch event happened, before its settle delay and rescan', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ns.yaml'), nsYaml('v0'));
    const { names, events } = await start(dir, { settleMs: 200 });
    const before = performance.now();
    writeFileSync(join(dir, 'ns.yaml.tmp'), nsYaml('v1'));
    renameSync(join(dir, 'ns.yaml.tmp'), join(dir, 'ns.yaml'));
    await waitFor(() => names().join() === 'v1', { what: 'the save' });
    const e = events.at(-1);
    expect(e?.eventAt).toBeGreaterThanOrEqual(before);
    // The settle delay (200 ms) lies between the event and the report.
    expect((e?.reportedAt ?? 0) - (e?.eventAt ?? 0)).toBeGreaterThanOrEqual(190);
  });
});
