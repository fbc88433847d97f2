/**
 * Fallback for node agents that cannot reach a waypoint through its Service VIP: the demo's config copy
 * drops the waypoint Service's clusterIP, so pilot addresses the waypoint by hostname (which agents
 * resolve to the waypoint pod). Applied by `demo up` only when the route check shows Service traffic
 * bypassing the waypoint, and reported as such; the repository's config is never touched.
 */
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** Rewrites the file holding Service <namespace>/<name> without spec.clusterIP; returns that file or undefined. */
export async function addressWaypointByHostname(
  configDir: string,
  namespace: string,
  name: string,
): Promise<string | undefined> {
  for (const file of (await readdir(configDir)).filter((n) => /\.ya?ml$/.test(n)).sort()) {
    const path = join(configDir, file);
    const docs = parseAllDocuments(await readFile(path, 'utf8'));
    if (!Array.isArray(docs)) continue;
    let changed = false;
    for (const doc of docs) {
      const o = doc.toJS() as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } } | null;
      if (
        o?.kind === 'Service' &&
        o.metadata?.name === name &&
        (o.metadata.namespace ?? 'default') === namespace
      ) {
        changed = doc.deleteIn(['spec', 'clusterIP']) || changed;
      }
    }
    if (!changed) continue;
    // Documents after the first keep their own `---` marker when they had one.
    const text = docs
      .map((d, i) => {
        const t = d.toString();
        return i === 0 || t.startsWith('---') ? t : `---\n${t}`;
      })
      .join('');
    const tmp = join(configDir, '..', '.waypoint-address.tmp');
    await writeFile(tmp, text);
    await rename(tmp, path);
    return path;
  }
  return undefined;
}
