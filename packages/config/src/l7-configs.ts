import type { ConfigIndex } from './config-index.js';
import { kindInfo } from './kinds.js';
import { type ConfigObject, configKey } from './model.js';

/** Raw objects for waypoints and gateways; Secrets only when a Gateway references them. */
export function l7Configs(index: ConfigIndex): Map<string, ConfigObject> {
  const wantedSecrets = new Set<string>();
  for (const g of index.gateways) {
    for (const c of g.credentialNames) {
      wantedSecrets.add(`${g.namespace}/${c}`);
      wantedSecrets.add(`${g.namespace}/${c}-cacert`);
    }
  }
  const out = new Map<string, ConfigObject>();
  for (const o of index.objects.values()) {
    if (kindInfo(o.apiVersion, o.kind)?.forL7 !== true) continue;
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
