#!/usr/bin/env node
// Runs the compiled build in the container image (where `pnpm deploy` has applied publishConfig, so the
// package's exports point at dist/), and the TypeScript source through tsx in the repository.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const dev = typeof pkg.exports?.['.'] === 'string' && pkg.exports['.'].endsWith('.ts');
if (dev) {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import(new URL('../src/main.ts', import.meta.url).href);
  await main(process.argv.slice(2));
} else {
  const { main } = await import(new URL('../dist/main.js', import.meta.url).href);
  await main(process.argv.slice(2));
}
