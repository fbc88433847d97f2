import type { ConfigIndex } from './config-index.js';
import { type ConfigObject, configKey } from './model.js';

/** Namespaces where a Gateway's credentialName Secrets may live: its own and, as in Istio, its gateway pods'. */
function credentialNamespaces(index: ConfigIndex, g: ConfigIndex['gateways'][number]): Set<string> {
  const out = new Set([g.namespace]);
  const wanted = Object.entries(g.selector);
  if (wanted.length === 0) return out;
  for (const p of index.pods.values()) {
    if (wanted.every(([k, v]) => p.labels[k] === v)) out.add(p.namespace);
  }
  return out;
}

/** Raw objects for waypoints and gateways; Secrets only when a Gateway references them. */
export function l7Configs(index: ConfigIndex): Map<string, ConfigObject> {
  const wantedSecrets = new Set<string>();
  for (const g of index.gateways) {
    if (g.credentialNames.length === 0) continue;
    for (const ns of credentialNamespaces(index, g)) {
      for (const c of g.credentialNames) {
        wantedSecrets.add(`${ns}/${c}`);
        wantedSecrets.add(`${ns}/${c}-cacert`);
      }
    }
  }
  const out = new Map<string, ConfigObject>();
  for (const o of index.l7Objects) {
    if (o.kind === 'Secret' && !wantedSecrets.has(`${o.namespace}/${o.name}`)) continue;
    const c: ConfigObject = {
      apiVersion: o.apiVersion,
      kind: o.kind,
      namespace: o.namespace,
      name: o.name,
      object: o.object,
    };
    out.set(configKey(c), c);
  }
  return out;
}
