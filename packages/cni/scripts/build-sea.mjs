#!/usr/bin/env node
// Builds weft-cni as a Node single executable application: one file the container runtime can exec on a
// node that has no Node.js. esbuild bundles src/ into one CommonJS script (SEA needs CJS), Node writes
// the preparation blob, postject injects it into a copy of the node binary.
// Usage: node packages/cni/scripts/build-sea.mjs [output path]   (default packages/cni/dist/sea/weft-cni)
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(pkg, 'dist', 'sea', 'weft-cni'));
const work = join(dirname(out), '.sea-build');
mkdirSync(work, { recursive: true });

await build({
  stdin: {
    contents: "require('./src/main.ts').main(process.argv.slice(2));",
    resolveDir: pkg,
    loader: 'js',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile: join(work, 'weft-cni.cjs'),
  logLevel: 'warning',
});
writeFileSync(
  join(work, 'sea-config.json'),
  JSON.stringify({
    main: join(work, 'weft-cni.cjs'),
    output: join(work, 'sea-prep.blob'),
    disableExperimentalSEAWarning: true,
    useCodeCache: true,
  }),
);
execFileSync(process.execPath, ['--experimental-sea-config', join(work, 'sea-config.json')], {
  stdio: 'inherit',
});
copyFileSync(process.execPath, out);
execFileSync(
  process.execPath,
  [
    join(pkg, 'node_modules', 'postject', 'dist', 'cli.js'),
    out,
    'NODE_SEA_BLOB',
    join(work, 'sea-prep.blob'),
    '--sentinel-fuse',
    'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
  ],
  { stdio: 'inherit' },
);
process.stdout.write(`${out}\n`);
