/**
 * No container engine runs here, so the Dockerfile is checked by parts: every path and bin it names
 * exists, and its build steps — tsc -b, `pnpm deploy --prod` per app, and its publish-exports script —
 * yield apps whose bins start on compiled JavaScript alone (the TypeScript sources are removed first).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandsSkipReason } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..', '..');
const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
const APPS = [
  { app: 'pilot', bin: 'weft-pilot' },
  { app: 'node-agent', bin: 'weft-node' },
  { app: 'waypoint', bin: 'weft-waypoint' },
  { app: 'cni', bin: 'weft-cni' },
  { app: 'cli', bin: 'weftctl' },
];

function publishScript(): string {
  const m = /COPY <<'EOF' \/src\/publish-exports\.mjs\n([\s\S]*?)\nEOF\n/.exec(dockerfile);
  if (m?.[1] === undefined) throw new Error('Dockerfile has no publish-exports heredoc');
  return m[1];
}

describe('Dockerfile', () => {
  it('uses Node 24 slim in both stages and runs as non-root by default', () => {
    expect(dockerfile).toContain('ARG NODE_IMAGE=node:24-slim');
    expect(dockerfile.match(/^FROM \$\{NODE_IMAGE\}/gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^USER 1337:1337$/m);
  });

  it('names only apps, bins and files that exist', () => {
    for (const { app, bin } of APPS) {
      const pkg = JSON.parse(readFileSync(join(repo, 'packages', app, 'package.json'), 'utf8'));
      expect(pkg.bin?.[bin], `${app} declares bin ${bin}`).toBe(`./bin/${bin}.mjs`);
      expect(existsSync(join(repo, 'packages', app, 'bin', `${bin}.mjs`))).toBe(true);
      expect(dockerfile).toContain(`/bin/${bin}.mjs /usr/local/bin/${bin}`);
      expect(pkg.publishConfig?.exports?.['.']?.default).toBe('./dist/index.js');
    }
    expect(dockerfile).toContain('for app in pilot node-agent waypoint cni cli;');
    expect(dockerfile).toContain(`RUN pnpm exec tsc -b ${APPS.map((a) => `packages/${a.app}`).join(' ')}\n`);
    for (const file of [
      'packages/cni/scripts/build-sea.mjs',
      'pnpm-lock.yaml',
      'pnpm-workspace.yaml',
      'package.json',
    ])
      expect(existsSync(join(repo, file)), file).toBe(true);
    // The init container's --plugin-source and the DaemonSet's args match what the image holds.
    const ds = readFileSync(join(repo, 'deploy/kubernetes/weft-node.yaml'), 'utf8');
    expect(ds).toContain('--plugin-source=/opt/weft/cni/weft-cni');
    expect(dockerfile).toContain('COPY --from=build /out/cni-plugin/weft-cni /opt/weft/cni/weft-cni');
    for (const { bin } of APPS.filter((a) => a.app !== 'cli'))
      if (bin !== 'weft-waypoint')
        expect(
          readFileSync(
            join(repo, 'deploy/kubernetes', bin === 'weft-pilot' ? 'pilot.yaml' : 'weft-node.yaml'),
            'utf8',
          ),
        ).toContain(`- ${bin}`);
  });

  const skip = commandsSkipReason(['pnpm']);
  describe.skipIf(skip !== undefined)(`build steps${skip ? ` (skipped: ${skip})` : ''}`, () => {
    const out = mkdtempSync(join(tmpdir(), 'weft-image-'));
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    beforeAll(() => {
      // Type errors are the type-check step's business (and may come from work in progress elsewhere);
      // tsc -b still emits, and what matters here is that the emitted JavaScript runs.
      const tsc = spawnSync('npx', ['tsc', '-b', ...APPS.map((a) => `packages/${a.app}`)], {
        cwd: repo,
        encoding: 'utf8',
        timeout: 300_000,
      });
      if (tsc.status !== 0)
        console.warn(`tsc -b reported errors (emitting anyway):\n${tsc.stdout.slice(0, 2000)}`);
      for (const { app } of APPS) {
        // Under the shared lock, so no other pnpm run in this tree interleaves with ours. pnpm may need
        // registry metadata for its policy check; a transient registry failure gets two more tries.
        const argv = [
          '/tmp/weft-pnpm.lock',
          'pnpm',
          '--filter',
          `@weft/${app}`,
          'deploy',
          '--prod',
          '--prefer-offline',
          join(out, app),
        ];
        let last = '';
        for (let attempt = 0; attempt < 3 && !existsSync(join(out, app, 'package.json')); attempt++) {
          rmSync(join(out, app), { recursive: true, force: true });
          const r = spawnSync('flock', argv, { cwd: repo, encoding: 'utf8', timeout: 300_000 });
          last = `${r.stdout}${r.stderr}`;
          if (r.status !== 0) rmSync(join(out, app), { recursive: true, force: true });
        }
        if (!existsSync(join(out, app, 'package.json')))
          throw new Error(`pnpm deploy @weft/${app} failed:\n${last}`);
      }
      writeFileSync(join(out, 'publish-exports.mjs'), publishScript());
      execFileSync(process.execPath, [join(out, 'publish-exports.mjs'), out], { stdio: 'pipe' });
    }, 600_000);

    it.each(APPS)('$bin starts from its deployed, compiled package', ({ app, bin }) => {
      expect(existsSync(join(out, app, 'src'))).toBe(false);
      expect(existsSync(join(out, app, 'node_modules', 'tsx'))).toBe(false);
      const run = spawnSync(process.execPath, [join(out, app, 'bin', `${bin}.mjs`), '--help'], {
        encoding: 'utf8',
        timeout: 30_000,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: out },
      });
      const text = `${run.stdout}${run.stderr}`;
      expect(text).not.toMatch(
        /ERR_MODULE_NOT_FOUND|ERR_UNKNOWN_FILE_EXTENSION|Cannot find (module|package)/,
      );
      // Every app answers --help with its name (weft-node rejects the flag by name, which also proves it ran).
      expect(text).toContain(bin === 'weftctl' ? 'weftctl' : `${bin}:`);
    });
  });
});
