/** The demo's config on disk: the embedded example directory, its copy in the state dir, the layout. */

import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
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

/**
 * Adds a bootstrap token for a workload identity (the ingress gateway's) to the state copy of
 * bootstrap-tokens.yaml, before pilot reads it; returns the token.
 */
export async function addWorkloadToken(stateDir: string, identity: string): Promise<string> {
  const file = join(stateDir, 'bootstrap-tokens.yaml');
  const doc = parseDocument(await readFile(file, 'utf8'));
  const token = `demo-${randomBytes(12).toString('hex')}`;
  doc.setIn(['tokens', token], { kind: 'workload', identity });
  await writeFile(file, doc.toString());
  return token;
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
  // The ingress gateway's objects (pod, Gateway, VirtualService) join the copy.
  const ingress = join(exampleDir, 'ingress');
  const extra = await readdir(ingress).catch(() => [] as string[]);
  for (const n of extra.filter((x) => /\.ya?ml$/.test(x)))
    await copyFile(join(ingress, n), join(configDir, `80-ingress-${n}`));
  await copyFile(join(exampleDir, 'bootstrap-tokens.yaml'), join(stateDir, 'bootstrap-tokens.yaml'));
  await writeFile(join(stateDir, 'jwt-key.pem'), createDemoKeyPem(), { mode: 0o600 });
  return configDir;
}
