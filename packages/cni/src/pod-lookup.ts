/**
 * What the plugin needs to know about a pod beyond CNI_ARGS: its uid, labels, service account, its
 * namespace's labels and the PeerAuthentications that decide its mTLS mode. From the Kubernetes API
 * (the node's kubeconfig written by `weft-cni install`) or from the plugin config (`metadata`).
 */
import type { PeerAuthenticationObject } from './enrollment.js';
import { CniError, CniErrorCode } from './errors.js';
import { type KubeAccess, kubeGet, loadKubeconfig } from './kube-client.js';
import type { PluginConfig } from './plugin-config.js';

export interface PodFacts {
  uid: string | undefined;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  serviceAccount: string;
  namespaceLabels: Record<string, string>;
  peerAuthentications: PeerAuthenticationObject[];
}

export interface PodLookup {
  facts(namespace: string, name: string): Promise<PodFacts>;
}

export function staticLookup(config: PluginConfig): PodLookup {
  const md = config.metadata;
  return {
    async facts(namespace, name) {
      const pod = md?.pods[`${namespace}/${name}`];
      return {
        uid: pod?.uid,
        labels: pod?.labels ?? {},
        annotations: {},
        serviceAccount: pod?.serviceAccount ?? 'default',
        namespaceLabels: md?.namespaces[namespace]?.labels ?? {},
        peerAuthentications: md?.peerAuthentications ?? [],
      };
    },
  };
}

type Meta = {
  metadata?: { uid?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
};
type PodObject = Meta & { spec?: { serviceAccountName?: string } };
type List = { items?: PeerAuthenticationObject[] };

const enc = encodeURIComponent;

export function kubeLookup(config: PluginConfig, kubeconfig: string): PodLookup {
  let access: Promise<KubeAccess> | undefined;
  return {
    async facts(namespace, name) {
      access ??= loadKubeconfig(kubeconfig);
      const a = await access;
      const t = config.kubeTimeoutMs;
      const paPath = (ns: string) => `/apis/security.istio.io/v1/namespaces/${enc(ns)}/peerauthentications`;
      const [pod, ns, paNs, paRoot] = await Promise.all([
        kubeGet(a, `/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}`, t) as Promise<
          PodObject | undefined
        >,
        kubeGet(a, `/api/v1/namespaces/${enc(namespace)}`, t) as Promise<Meta | undefined>,
        kubeGet(a, paPath(namespace), t) as Promise<List | undefined>,
        namespace === config.rootNamespace
          ? Promise.resolve(undefined)
          : (kubeGet(a, paPath(config.rootNamespace), t) as Promise<List | undefined>),
      ]);
      if (pod === undefined)
        throw new CniError(
          CniErrorCode.LookupFailed,
          `pod ${namespace}/${name} not found in the Kubernetes API`,
        );
      return {
        uid: pod.metadata?.uid,
        labels: pod.metadata?.labels ?? {},
        annotations: pod.metadata?.annotations ?? {},
        serviceAccount: pod.spec?.serviceAccountName ?? 'default',
        namespaceLabels: ns?.metadata?.labels ?? {},
        peerAuthentications: [...(paNs?.items ?? []), ...(paRoot?.items ?? [])],
      };
    },
  };
}

export function podLookup(config: PluginConfig): PodLookup {
  if (config.metadata === undefined && config.kubeconfig !== undefined)
    return kubeLookup(config, config.kubeconfig);
  return staticLookup(config);
}
