import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const CODE = /\bWEFT_[A-Z0-9]+(?:_[A-Z0-9]+)+\b/g;

function* files(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist' || entry === 'gen') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (entry.endsWith('.ts') && !entry.endsWith('.test.ts') && !entry.endsWith('.d.ts')) yield path;
  }
}

function codesInSource(): Set<string> {
  const codes = new Set<string>();
  for (const pkg of readdirSync(join(root, 'packages'))) {
    const src = join(root, 'packages', pkg, 'src');
    try {
      statSync(src);
    } catch {
      continue;
    }
    for (const file of files(src)) for (const m of readFileSync(file, 'utf8').matchAll(CODE)) codes.add(m[0]);
  }
  return codes;
}

function codesInDocs(): Set<string> {
  const text = readFileSync(join(root, 'docs/errors.md'), 'utf8');
  const codes = new Set<string>();
  for (const line of text.split('\n')) {
    const first = /^\|\s*`?(WEFT_[A-Z0-9_]+)`?\s*\|/.exec(line);
    if (first?.[1] !== undefined) codes.add(first[1]);
  }
  return codes;
}

describe('docs/errors.md', () => {
  it('lists every error code used in the source', () => {
    const documented = codesInDocs();
    expect([...codesInSource()].filter((c) => !documented.has(c)).sort()).toEqual([]);
  });

  it('lists no code that the source no longer uses', () => {
    const used = codesInSource();
    expect([...codesInDocs()].filter((c) => !used.has(c)).sort()).toEqual([]);
  });
});
