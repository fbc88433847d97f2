/**
 * Kubernetes-mode source: one reflector per kind Weft reads, all namespaces. Objects are kept as the API
 * server sent them and converted to config objects on snapshot.
 */
import { KubeConfig } from '@kubernetes/client-node';
import {
  type ConfigProblem,
  collectKubeObject,
  KUBE_RESOURCES,
  type KubeObject,
  toKubeObject,
} from '@weft/config';
import { type Logger, silentLogger } from '@weft/telemetry';
import {
  type KubeItem,
  Reflector,
  type ReflectorStats,
  type ResourceType,
  reflectorKey,
} from './reflector.js';
import type { ChangeListener, ConfigSource } from './source.js';

/** What Weft watches: the core kinds, EndpointSlices, and the Istio / Gateway API CRDs (optional). */
export const WATCHED: readonly ResourceType[] = KUBE_RESOURCES;

export interface KubernetesSourceOptions {
  /** A kubeconfig file; in-cluster (service account) config when omitted. */
  kubeconfig?: string;
  /** Or a ready KubeConfig (tests). */
  kubeConfig?: KubeConfig;
  logger?: Logger;
  types?: readonly ResourceType[];
}

/**
 * toKubeObject per item, remembered while the reflector holds the same item (an update brings a new one):
 * a snapshot after one event converts one object, and unchanged objects keep their identity, which is what
 * lets the translation skip them.
 */
const conversions = new WeakMap<KubeItem, ReturnType<typeof toKubeObject>>();

function converted(item: KubeItem): ReturnType<typeof toKubeObject> {
  let r = conversions.get(item);
  if (r === undefined) {
    r = toKubeObject(item, undefined);
    conversions.set(item, r);
  }
  return r;
}

export class KubernetesSource implements ConfigSource {
  readonly name = 'kubernetes';
  readonly #kc: KubeConfig;
  readonly #logger: Logger;
  readonly #types: readonly ResourceType[];
  readonly #objects = new Map<string, Map<string, KubeItem>>();
  readonly #reflectors: Reflector[] = [];

  constructor(options: KubernetesSourceOptions = {}) {
    this.#logger = options.logger ?? silentLogger();
    this.#types = options.types ?? WATCHED;
    if (options.kubeConfig !== undefined) this.#kc = options.kubeConfig;
    else {
      this.#kc = new KubeConfig();
      if (options.kubeconfig !== undefined) this.#kc.loadFromFile(options.kubeconfig);
      else this.#kc.loadFromCluster();
    }
  }

  async start(onChange: ChangeListener): Promise<void> {
    for (const type of this.#types) {
      const byKey = new Map<string, KubeItem>();
      this.#objects.set(`${type.apiVersion}/${type.kind}`, byKey);
      const reflector = new Reflector(
        this.#kc,
        type,
        {
          replace: (items) => {
            byKey.clear();
            for (const i of items) byKey.set(reflectorKey(i), i);
            onChange();
          },
          upsert: (item) => {
            byKey.set(reflectorKey(item), item);
            onChange();
          },
          remove: (item) => {
            byKey.delete(reflectorKey(item));
            onChange();
          },
        },
        this.#logger,
      );
      this.#reflectors.push(reflector);
    }
    await Promise.all(this.#reflectors.map((r) => r.start()));
    this.#logger.info({ kinds: this.#types.length }, 'kubernetes informers synced');
  }

  snapshot(): { objects: readonly KubeObject[]; problems: readonly ConfigProblem[] } {
    const objects: KubeObject[] = [];
    const problems: ConfigProblem[] = [];
    for (const byKey of this.#objects.values()) {
      for (const item of byKey.values()) {
        collectKubeObject(converted(item), objects, problems);
      }
    }
    return { objects, problems };
  }

  stats(): Record<string, ReflectorStats & { resourceVersion: string }> {
    return Object.fromEntries(
      this.#reflectors.map((r) => [
        `${r.type.apiVersion}/${r.type.kind}`,
        { ...r.stats, resourceVersion: r.resourceVersion },
      ]),
    );
  }

  async close(): Promise<void> {
    for (const r of this.#reflectors) r.stop();
  }
}
