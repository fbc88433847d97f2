/**
 * deploy/kubernetes is the default rendering of @weft/manifests: re-rendering must change nothing, and
 * `kubectl kustomize` must build it offline into exactly the objects `weftctl install --render` prints.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '@weft/cli';
import { commandsSkipReason } from '@weft/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const repo = join(import.meta.dirname, '..', '..', '..');
const committed = join(repo, 'deploy', 'kubernetes');
const scratch = mkdtempSync(join(tmpdir(), 'weft-render-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function io(cwd = repo) {
  let out = '';
  let err = '';
  return {
    stdout: (t: string) => {
      out += t;
    },
    stderr: (t: string) => {
      err += t;
    },
    isTty: false,
    env: {},
    cwd,
    out: () => out,
    err: () => err,
  };
}

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
export function byKey(objects: Obj[]): Map<string, Obj> {
  return new Map(
    objects.map((o) => [`${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]),
  );
}
function docs(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((d): d is Obj => d !== null);
}

describe('deploy/kubernetes', () => {
  it('re-rendering the default install changes nothing', async () => {
    const out = io(scratch);
    expect(await main(['install', '--render', '--out-dir', 'k'], out)).toBe(0);
    const fresh = readdirSync(join(scratch, 'k')).sort();
    const files = readdirSync(committed)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    expect(files).toEqual(fresh);
    for (const f of fresh) {
      expect(
        readFileSync(join(committed, f), 'utf8'),
        `deploy/kubernetes/${f} is stale: run weftctl install --render --out-dir deploy/kubernetes`,
      ).toBe(readFileSync(join(scratch, 'k', f), 'utf8'));
    }
  });

  const kubectl = commandsSkipReason(['kubectl']);
  it.skipIf(kubectl !== undefined)(
    `kubectl kustomize builds it offline into the rendered objects${kubectl ? ` (skipped: ${kubectl})` : ''}`,
    async () => {
      const built = docs(
        execFileSync('kubectl', ['kustomize', committed], { encoding: 'utf8', timeout: 60_000 }),
      );
      const out = io();
      expect(await main(['install', '--render'], out)).toBe(0);
      const rendered = byKey(docs(out.out()));
      const kustomized = byKey(built);
      expect(
        [...rendered.keys()].filter((k) => k.includes('/CustomResourceDefinition/')).length,
      ).toBeGreaterThan(4);
      expect([...kustomized.keys()].sort()).toEqual([...rendered.keys()].sort());
      for (const [key, o] of rendered) expect(kustomized.get(key), key).toEqual(o);
    },
  );
});
