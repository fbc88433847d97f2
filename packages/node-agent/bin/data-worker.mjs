// Entry of weft-node's data-plane worker threads: the TypeScript source through tsx in the repository,
// the compiled build in the container image (same rule as bin/weft-node.mjs).
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const dev = typeof pkg.exports?.['.'] === 'string' && pkg.exports['.'].endsWith('.ts');
if (dev) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/worker.ts', import.meta.url).href);
} else {
  await import(new URL('../dist/worker.js', import.meta.url).href);
}
