/** Reads a directory of Kubernetes/Istio YAML (the embedded config source) into @weft/config's index. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildIndex, type ConfigIndex, type KubeObject, parseYaml } from '@weft/config';

function* yamlFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir).sort()) {
    if (entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* yamlFiles(path);
    else if (/\.(ya?ml|json)$/.test(entry)) yield path;
  }
}

export function loadConfigDir(dir: string, rootNamespace: string): ConfigIndex {
  const objects: KubeObject[] = [];
  for (const file of yamlFiles(dir)) objects.push(...parseYaml(readFileSync(file, 'utf8'), file).objects);
  return buildIndex(objects, { rootNamespace });
}

export interface PodRef {
  namespace: string;
  name: string;
}

/** `ns/name`, `name.namespace` (istioctl's form) or `name` with -n. */
export function parsePodRef(ref: string, namespace: string | undefined): PodRef {
  const slash = ref.indexOf('/');
  if (slash > 0) return { namespace: ref.slice(0, slash), name: ref.slice(slash + 1) };
  if (namespace !== undefined) return { namespace, name: ref };
  const dot = ref.lastIndexOf('.');
  if (dot > 0) return { namespace: ref.slice(dot + 1), name: ref.slice(0, dot) };
  return { namespace: 'default', name: ref };
}

const MODE = 'istio.io/dataplane-mode';

/** Istio's enrollment rule: pod or namespace ambient, pod not `none`. */
export function enrollment(
  podLabels: Readonly<Record<string, string>>,
  nsLabels: Readonly<Record<string, string>>,
): { enrolled: boolean; reason: string } {
  if (podLabels[MODE] === 'none') return { enrolled: false, reason: `pod labelled ${MODE}=none` };
  if (podLabels[MODE] === 'ambient') return { enrolled: true, reason: `pod labelled ${MODE}=ambient` };
  if (nsLabels[MODE] === 'ambient') return { enrolled: true, reason: `namespace labelled ${MODE}=ambient` };
  return { enrolled: false, reason: `neither the pod nor its namespace is labelled ${MODE}=ambient` };
}
