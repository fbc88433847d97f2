/**
 * Editing the node's CNI configuration: put weft-cni last in the primary network's plugin chain, or take
 * it out again. Pure functions over parsed JSON; install.ts does the file I/O.
 */

export const PLUGIN_TYPE = 'weft-cni';

export type Conflist = Record<string, unknown> & { plugins: Record<string, unknown>[] };

export interface Edit {
  conflist: Conflist;
  changed: boolean;
}

/**
 * The file the container runtime uses: the first by name of *.conflist, *.conf and *.json
 * (containerd/CRI-O/libcni order). Hidden and temporary files are ignored.
 */
export function primaryConfigFile(names: readonly string[]): string | undefined {
  return names.filter((n) => !n.startsWith('.') && /\.(conflist|conf|json)$/.test(n)).sort()[0];
}

/** A single-plugin .conf as the equivalent conflist (name and cniVersion move up). */
export function toConflist(conf: Record<string, unknown>): Conflist {
  if (Array.isArray(conf.plugins)) return conf as Conflist;
  const { name, cniVersion, ...plugin } = conf;
  return { cniVersion: cniVersion ?? '0.3.1', name: name ?? 'k8s-pod-network', plugins: [plugin] };
}

/** Adds `entry` at the end of the chain, replacing any earlier weft-cni entry; unchanged when identical. */
export function addPlugin(conflist: Conflist, entry: Record<string, unknown>): Edit {
  const others = conflist.plugins.filter((p) => p.type !== PLUGIN_TYPE);
  const plugins = [...others, { ...entry, type: PLUGIN_TYPE }];
  const changed = JSON.stringify(plugins) !== JSON.stringify(conflist.plugins);
  return { conflist: changed ? { ...conflist, plugins } : conflist, changed };
}

export function removePlugin(conflist: Conflist): Edit {
  const plugins = conflist.plugins.filter((p) => p.type !== PLUGIN_TYPE);
  const changed = plugins.length !== conflist.plugins.length;
  return { conflist: changed ? { ...conflist, plugins } : conflist, changed };
}
