/**
 * weft-node's control core: pods enrolled through the lifecycle protocol, one PodProxy each, open
 * connections re-checked on every policy or workload change, readiness, and the config dump.
 * Discovery and certificates come in through ports (DiscoveryView, IdentityProvider) so the same core
 * runs against pilot in production and against an in-memory store in tests.
 */
import { componentLogger, type Logger, type Readiness, type Registry } from '@weft/telemetry';
import { errorMessage } from '@weft/telemetry/errors';
import { authorize } from './authz.js';
import { ConnectionTracker } from './connections.js';
import type { DiscoveryView } from './discovery.js';
import { NodeAgentError, NodeErrorCode } from './errors.js';
import type { IdentityProvider } from './identity.js';
import { type LifecycleRequest, optedOut, type PodInfo } from './lifecycle-protocol.js';
import { PodProxy } from './pod-proxy.js';
import { TrafficRecorder, trafficMetrics } from './traffic.js';

export interface NodeAgentOptions {
  view: DiscoveryView;
  identity: IdentityProvider;
  registry: Registry;
  logger: Logger;
  trustDomain: string;
  readiness?: Readiness;
  connectTimeoutMs?: number;
}

export const READY_PODS = 'pods captured';

export class NodeAgent {
  readonly #o: NodeAgentOptions;
  readonly #log: Logger;
  readonly #pods = new Map<string, PodProxy>();
  readonly #optedOut = new Map<string, PodInfo>();
  readonly #pending = new Map<string, Promise<void>>();
  readonly tracker = new ConnectionTracker();
  readonly #recorder: TrafficRecorder;
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(options: NodeAgentOptions) {
    this.#o = options;
    this.#log = componentLogger(options.logger, 'pods');
    this.#recorder = new TrafficRecorder(
      trafficMetrics(options.registry),
      componentLogger(options.logger, 'access'),
    );
    this.#unsubscribe = options.view.onChange(() => this.recheck());
  }

  /** Handles one lifecycle request (the Unix socket calls this). */
  async handle(request: LifecycleRequest): Promise<void> {
    if (this.#closed) throw new NodeAgentError(NodeErrorCode.PodAdd, 'the agent is shutting down');
    switch (request.type) {
      case 'add':
        return this.add(request.pod);
      case 'del':
        return this.remove(request.uid);
      case 'snapshot': {
        const keep = new Set(request.pods.map((p) => p.uid));
        for (const uid of [...this.#pods.keys(), ...this.#optedOut.keys()])
          if (!keep.has(uid)) await this.remove(uid);
        for (const pod of request.pods) await this.add(pod);
        this.#o.readiness?.markReady(READY_PODS);
        return;
      }
    }
  }

  async add(pod: PodInfo): Promise<void> {
    const inflight = this.#pending.get(pod.uid);
    if (inflight !== undefined) await inflight.catch(() => undefined);
    if (optedOut(pod)) {
      // Opted out after being enrolled: let it go and take the rules away.
      if (this.#pods.has(pod.uid)) await this.remove(pod.uid);
      this.#optedOut.set(pod.uid, pod);
      this.#log.info({ pod: `${pod.namespace}/${pod.name}` }, 'pod opted out (istio.io/dataplane-mode=none)');
      return;
    }
    const existing = this.#pods.get(pod.uid);
    if (existing !== undefined) {
      if (existing.pod.netnsPath === pod.netnsPath && existing.pod.ips.join() === pod.ips.join()) return;
      await this.remove(pod.uid);
    }
    const proxy = new PodProxy(pod, {
      view: this.#o.view,
      recorder: this.#recorder,
      tracker: this.tracker,
      log: this.#log,
      trustDomain: this.#o.trustDomain,
      ...(this.#o.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: this.#o.connectTimeoutMs }),
    });
    const work = (async () => {
      try {
        const credentials = await this.#o.identity.credentials(proxy.identity);
        await proxy.start(credentials);
      } catch (err) {
        throw new NodeAgentError(
          NodeErrorCode.PodAdd,
          `enrolling pod ${pod.namespace}/${pod.name} failed: ${errorMessage(err)}`,
          {
            cause: err,
          },
        );
      }
      this.#pods.set(pod.uid, proxy);
      this.#log.info(
        { pod: `${pod.namespace}/${pod.name}`, ips: pod.ips, identity: proxy.identity },
        'pod captured',
      );
    })();
    this.#pending.set(pod.uid, work);
    try {
      await work;
    } finally {
      this.#pending.delete(pod.uid);
    }
  }

  /** Pod deleted: listeners closed, rules removed, certificate forgotten. Unknown pods are fine (idempotent). */
  async remove(uid: string): Promise<void> {
    if (this.#optedOut.delete(uid)) return;
    const proxy = this.#pods.get(uid);
    if (proxy === undefined) {
      this.#log.debug({ uid, code: NodeErrorCode.UnknownPod }, 'del for a pod that is not enrolled');
      return;
    }
    this.#pods.delete(uid);
    await proxy.stop({ removeRules: true, drainMs: 0 });
    if (![...this.#pods.values()].some((p) => p.identity === proxy.identity))
      this.#o.identity.forget(proxy.identity);
    this.#log.info({ pod: `${proxy.pod.namespace}/${proxy.pod.name}` }, 'pod released');
  }

  /** Re-decides open inbound connections after a discovery change; closes the ones now denied. */
  recheck(): number {
    const view = this.#o.view;
    const closed = this.tracker.recheck(
      (c, w) => {
        if (w === undefined) return undefined; // a workload briefly missing is not a policy decision
        const d = authorize(view, w, c.attrs);
        return d.allowed ? undefined : `connection closed due to policy change: ${d.reason}`;
      },
      (uid) => view.workloads.get(uid),
    );
    if (closed > 0) this.#log.info({ closed }, 'closed connections no longer allowed by policy');
    return closed;
  }

  pods(): PodProxy[] {
    return [...this.#pods.values()];
  }

  configDump(): unknown {
    return {
      pods: [...this.#pods.values()].map((p) => ({
        uid: p.pod.uid,
        name: p.pod.name,
        namespace: p.pod.namespace,
        ips: p.pod.ips,
        netnsPath: p.pod.netnsPath,
        identity: p.identity,
        captured: true,
        ...p.stats(),
      })),
      optedOut: [...this.#optedOut.values()].map((p) => ({
        uid: p.uid,
        name: p.name,
        namespace: p.namespace,
      })),
      connections: this.tracker.size,
      certificates: this.#o.identity.dump(),
    };
  }

  /**
   * Shutdown: GOAWAY and drain every pod's listeners for `drainMs`. Capture rules stay (a restarting or
   * upgraded agent binds again; meanwhile the pod fails closed) unless `uninstall`.
   */
  async close(options: { drainMs: number; uninstall: boolean }): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    await Promise.all(
      [...this.#pods.values()].map((p) =>
        p.stop({ removeRules: options.uninstall, drainMs: options.drainMs }),
      ),
    );
    this.#pods.clear();
  }
}
