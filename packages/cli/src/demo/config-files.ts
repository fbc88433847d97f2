/** The demo's config on disk: the embedded example directory, its copy in the state dir, the layout. */
import { chmod, copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DemoError, DemoErrorCode } from './errors.js';
import { type DemoLayout, layoutFromObjects, parseConfigTexts } from './layout.js';
import { createDemoKeyPem } from './tokens.js';

/** Files of the embedded config that the tour applies step by step instead of at start. */
export const TOUR_APPLIED = new Set(['06-security.yaml']);

export const exampleDirOf = (root: string): string => join(root, 'deploy/examples/demo');

export async function loadLayout(configDir: string): Promise<DemoLayout> {
  const names = (await readdir(configDir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  const files = await Promise.all(
    names.map(async (n) => ({ path: join(configDir, n), text: await readFile(join(configDir, n), 'utf8') })),
  );
  return layoutFromObjects(parseConfigTexts(files));
}

/** Makes the state directory: config copy (minus the tour's policies), tokens, the JWT key. */
export async function prepareStateDir(stateDir: string, exampleDir: string): Promise<string> {
  const configDir = join(stateDir, 'config');
  for (const d of ['', 'config', 'logs', 'ca', 'tokens', 'relay'])
    await mkdir(join(stateDir, d), { recursive: true });
  await chmod(stateDir, 0o700);
  const source = join(exampleDir, 'config');
  let names: string[];
  try {
    names = (await readdir(source)).filter((n) => /\.ya?ml$/.test(n));
  } catch (err) {
    throw new DemoError(DemoErrorCode.Config, `cannot read the demo config ${source}: ${String(err)}`, {
      cause: err,
    });
  }
  for (const n of names) if (!TOUR_APPLIED.has(n)) await copyFile(join(source, n), join(configDir, n));
  await copyFile(join(exampleDir, 'bootstrap-tokens.yaml'), join(stateDir, 'bootstrap-tokens.yaml'));
  await writeFile(join(stateDir, 'jwt-key.pem'), createDemoKeyPem(), { mode: 0o600 });
  return configDir;
}
