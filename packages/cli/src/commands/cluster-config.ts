/**
 * The mesh config of a live cluster, for `weftctl analyze --kubeconfig`: one LIST of every collection Weft
 * reads (Secrets excepted: the analyzers never need them), converted like pilot converts what it watches.
 */
import { KubeConfig } from '@kubernetes/client-node';
import {
  type ConfigProblem,
  collectKubeObject,
  KUBE_RESOURCES,
  type KubeObject,
  kubeList,
  toKubeObject,
} from '@weft/config';

export interface ClusterConfig {
  objects: KubeObject[];
  problems: ConfigProblem[];
  /** What could not be read and why it does not stop the analysis (a CRD not installed, no RBAC). */
  notes: string[];
}

export async function readCluster(kubeconfigPath: string, context?: string): Promise<ClusterConfig> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  if (context !== undefined) kc.setCurrentContext(context);
  const out: ClusterConfig = { objects: [], problems: [], notes: [] };
  const lists = await Promise.all(
    KUBE_RESOURCES.filter((r) => r.kind !== 'Secret').map(async (r) => {
      try {
        return (await kubeList(kc, r)).items;
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        if (status === 404 && r.optional === true) {
          out.notes.push(`${r.kind} (${r.apiVersion}) is not served by this cluster: skipped`);
          return [];
        }
        if (status === 403) {
          out.notes.push(`no permission to list ${r.kind} (${r.apiVersion}): skipped`);
          return [];
        }
        throw err;
      }
    }),
  );
  for (const items of lists) {
    for (const item of items) collectKubeObject(toKubeObject(item, undefined), out.objects, out.problems);
  }
  return out;
}
