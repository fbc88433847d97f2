/**
 * `weftctl demo apply <step>`: copies one of the tour's policies into the running demo's config
 * directory (pilot watches it and pushes the change). Files are written by rename, so pilot never
 * reads half a file. `weftctl demo apply reset` removes everything the tour applied.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDocument, Scalar } from 'yaml';
import { exampleDirOf } from './config-files.js';
import { DemoError, DemoErrorCode } from './errors.js';
import { readState } from './state.js';
import { jwksOf } from './tokens.js';

export interface TourPolicy {
  /** What `demo apply <name>` copies. */
  name: string;
  summary: string;
  /** Relative to deploy/examples/demo. */
  source: string;
  /** File name in the config directory. */
  target: string;
}

export const TOUR_POLICIES: readonly TourPolicy[] = [
  {
    name: 'strict',
    summary: 'PeerAuthentication STRICT for prod',
    source: 'tour/strict.yaml',
    target: '50-tour-strict.yaml',
  },
  {
    name: 'authz',
    summary:
      "the demo's AuthorizationPolicies (L4 for orders, L7 at the waypoint for payments) and mesh-wide STRICT",
    source: 'config/06-security.yaml',
    target: '06-security.yaml',
  },
  {
    name: 'jwt',
    summary: "RequestAuthentication with the demo issuer's JWKS on payments",
    source: 'tour/jwt.yaml',
    target: '70-tour-jwt.yaml',
  },
];

/** Written next to (not inside) the watched directory, then renamed in: pilot sees one complete file. */
async function atomicWrite(stateDir: string, file: string, text: string): Promise<void> {
  const tmp = join(stateDir, '.apply.tmp');
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** Fills the JWKS placeholder of the RequestAuthentication with the demo key's public part. */
export function renderJwtPolicy(text: string, jwks: string): string {
  const doc = parseDocument(text);
  const value = new Scalar(jwks);
  value.type = 'QUOTE_SINGLE';
  doc.setIn(['spec', 'jwtRules', 0, 'jwks'], value);
  return doc.toString({ lineWidth: 0 });
}

export async function applyPolicy(stateDir: string, name: string): Promise<string> {
  const state = await readState(stateDir);
  if (state === undefined)
    throw new DemoError(
      DemoErrorCode.NotRunning,
      `no demo running (state ${stateDir}); start it with \`weftctl demo up\``,
    );
  if (name === 'reset' || name === 'permissive') {
    const drop = name === 'reset' ? TOUR_POLICIES : TOUR_POLICIES.filter((p) => p.name === 'strict');
    for (const p of drop) await rm(join(state.configDir, p.target), { force: true });
    return `removed ${drop.map((p) => p.target).join(', ')} from ${state.configDir}`;
  }
  const policy = TOUR_POLICIES.find((p) => p.name === name);
  if (policy === undefined)
    throw new DemoError(
      DemoErrorCode.Unknown,
      `no tour policy ${name}; use one of ${[...TOUR_POLICIES.map((p) => p.name), 'permissive', 'reset'].join(', ')}`,
    );
  const source = join(exampleDirOf(state.repoRoot), policy.source);
  let text = await readFile(source, 'utf8');
  if (policy.name === 'jwt')
    text = renderJwtPolicy(text, jwksOf(await readFile(join(stateDir, 'jwt-key.pem'), 'utf8')));
  await atomicWrite(stateDir, join(state.configDir, policy.target), text);
  return `applied ${policy.summary}: ${join(state.configDir, policy.target)}`;
}
