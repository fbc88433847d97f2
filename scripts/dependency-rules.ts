import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** DESIGN.md: apps depend on libraries, never on each other; libraries never import apps. */
export const APPS = new Set(['pilot', 'node-agent', 'waypoint', 'cni', 'cli']);
export const LIBRARIES = new Set([
  'certs',
  'config',
  'hbone',
  'manifests',
  'policy',
  'xds',
  'netns',
  'telemetry',
  'testkit',
]);

export interface Violation {
  file: string;
  line: number;
  specifier: string;
  rule: string;
}

const IMPORT_RE =
  /(?:^|[^\w.])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|mts|js|mjs)$/.test(entry) && !entry.endsWith('.d.ts')) yield path;
  }
}

/** Checks every package under `root/packages` against the dependency rules. */
export function checkDependencyRules(root: string): Violation[] {
  const violations: Violation[] = [];
  const packagesDir = join(root, 'packages');
  for (const pkg of readdirSync(packagesDir)) {
    const pkgDir = join(packagesDir, pkg);
    if (!statSync(pkgDir).isDirectory()) continue;
    for (const file of sourceFiles(pkgDir)) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(IMPORT_RE)) {
        const specifier = match[1] ?? match[2] ?? match[3];
        if (specifier === undefined) continue;
        const line = text.slice(0, match.index).split('\n').length;
        const at = { file: relative(root, file), line, specifier };
        const weft = /^@weft\/([^/]+)(\/.*)?$/.exec(specifier);
        if (weft !== null) {
          const target = weft[1] ?? '';
          const subpath = weft[2] ?? '';
          if (target === pkg)
            violations.push({ ...at, rule: 'a package imports itself by name; use a relative import' });
          if (APPS.has(pkg) && APPS.has(target) && target !== pkg)
            violations.push({
              ...at,
              rule: `app ${pkg} imports app ${target}: apps never depend on each other`,
            });
          if (LIBRARIES.has(pkg) && APPS.has(target))
            violations.push({
              ...at,
              rule: `library ${pkg} imports app ${target}: libraries never import apps`,
            });
          if (/^\/(src|dist)(\/|$)/.test(subpath))
            violations.push({
              ...at,
              rule: `deep import into ${target}'s internals: import from @weft/${target}`,
            });
          continue;
        }
        if (specifier.startsWith('.')) {
          const resolved = relative(packagesDir, join(file, '..', specifier));
          const owner = resolved.split('/')[0];
          if (!resolved.startsWith('..') && owner !== pkg) {
            violations.push({
              ...at,
              rule: `relative import reaches into package ${owner}: import from @weft/${owner}`,
            });
          } else if (resolved.startsWith('..')) {
            violations.push({
              ...at,
              rule: 'relative import leaves packages/: packages must not read the repository around them',
            });
          }
        }
      }
    }
  }
  return violations;
}
