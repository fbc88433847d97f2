// Starts an app: the compiled build in the container image (where `pnpm deploy` has applied publishConfig,
// so the app's exports point at dist/), the TypeScript source through tsx in the repository. Plain
// JavaScript on purpose: it runs before anything can load TypeScript.
import { readFileSync } from 'node:fs';

/**
 * Imports the app module `entry` (src/<entry>.ts or dist/<entry>.js) of the package whose bin script has
 * the URL `binUrl` (its `import.meta.url`; the package.json is one folder up).
 */
export async function load(binUrl, entry) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', binUrl), 'utf8'));
  const dev = typeof pkg.exports?.['.'] === 'string' && pkg.exports['.'].endsWith('.ts');
  if (dev) {
    const { register } = await import('tsx/esm/api');
    register();
  }
  return import(new URL(dev ? `../src/${entry}.ts` : `../dist/${entry}.js`, binUrl).href);
}

/** Runs the app's `main(argv)` with the process arguments. */
export async function launch(binUrl) {
  const { main } = await load(binUrl, 'main');
  await main(process.argv.slice(2));
}
