import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const hasProtoc = (() => {
  try {
    execFileSync('protoc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const withProtos = readdirSync(join(root, 'packages')).filter((p) =>
  existsSync(join(root, 'packages', p, 'proto')),
);

function* walk(dir: string): Generator<string> {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const f of walk(dir)) out[relative(dir, f)] = readFileSync(f, 'utf8');
  return out;
}

const skipReason = hasProtoc
  ? ''
  : ' (skipped: needs protoc, Debian protobuf-compiler; scripts/setup.sh installs it as root)';

describe.skipIf(!hasProtoc)(`generated protobuf code is committed and current${skipReason}`, () => {
  it('covers the wire-protocol package', () => {
    expect(withProtos).toContain('xds');
  });

  it.each(withProtos)('%s: regenerating changes nothing', (pkg) => {
    const out = mkdtempSync(join(tmpdir(), 'weft-gen-'));
    try {
      execFileSync('bash', [join(root, 'scripts/gen-proto.sh'), pkg, out]);
      expect(snapshot(out)).toEqual(snapshot(join(root, 'packages', pkg, 'src', 'gen')));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
