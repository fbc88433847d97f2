/**
 * Where pod listeners live: on the control thread itself (LocalDataPlane, WORKER_THREADS=0) or on worker
 * threads that each bind their own SO_REUSEPORT listeners in every pod (WorkerDataPlane, workers.ts).
 * The control thread (NodeAgent) owns capture rules, certificates, discovery and the lifecycle protocol.
 */
import type { Logger, Registry } from '@weft/telemetry';
import { authorize, followAuthorizations } from './authz.js';
import { ConnectionTracker } from './connections.js';
import type { DiscoveryView } from './discovery.js';
import type { IdentityProvider } from './identity.js';
import type { PodInfo } from './lifecycle-protocol.js';
import { PodProxy } from './pod-proxy.js';
import { type OpenConnection, TrafficRecorder, trafficMetrics } from './traffic.js';

export interface PodStats {
  uid: string;
  clients: number;
  hboneConnections: number;
}

export interface DataPlane {
  /** Binds the pod's listeners (capture rules are already installed). */
  addPod(pod: PodInfo, identity: string): Promise<void>;
  /** Closes the pod's listeners and its open connections. */
  removePod(uid: string): Promise<void>;
  /** Per-pod listener stats and open inbound connections, for /config_dump. */
  stats(): Promise<{ pods: PodStats[]; connections: number; workers: number }>;
  /** Open connections (both directions) on every data-plane thread. */
  connections(): Promise<OpenConnection[]>;
  /** GOAWAY, stop accepting, let connections finish for drainMs, then close. */
  close(drainMs: number): Promise<void>;
}

/** Re-decides open inbound connections; closes the ones policy no longer allows. */
export function recheckConnections(view: DiscoveryView, tracker: ConnectionTracker, log: Logger): number {
  const closed = tracker.recheck(
    (c, w) => {
      if (w === undefined) return undefined; // a workload briefly missing is not a policy decision
      const d = authorize(view, w, c.attrs);
      return d.allowed ? undefined : `connection closed due to policy change: ${d.reason}`;
    },
    (uid) => view.workloads.get(uid),
  );
  if (closed > 0) log.info({ closed }, 'closed connections no longer allowed by policy');
  return closed;
}

export interface LocalDataPlaneOptions {
  view: DiscoveryView;
  identity: Pick<IdentityProvider, 'credentials'>;
  registry: Registry;
  log: Logger;
  accessLog: Logger;
  trustDomain: string;
  connectTimeoutMs?: number;
}

/** Pod proxies on this thread; also what each worker thread runs. */
export class LocalDataPlane implements DataPlane {
  readonly tracker = new ConnectionTracker();
  readonly #o: LocalDataPlaneOptions;
  readonly #pods = new Map<string, PodProxy>();
  readonly #recorder: TrafficRecorder;
  readonly #unsubscribe: () => void;

  constructor(options: LocalDataPlaneOptions) {
    this.#o = options;
    this.#recorder = new TrafficRecorder(trafficMetrics(options.registry), options.accessLog);
    // Before the re-check listener: a policy change must reach the compiled index before open
    // connections are re-authorized against it.
    followAuthorizations(options.view);
    this.#unsubscribe = options.view.onChange(() =>
      recheckConnections(options.view, this.tracker, options.log),
    );
  }

  async addPod(pod: PodInfo, identity: string): Promise<void> {
    await this.removePod(pod.uid);
    const proxy = new PodProxy(pod, {
      view: this.#o.view,
      recorder: this.#recorder,
      tracker: this.tracker,
      log: this.#o.log,
      trustDomain: this.#o.trustDomain,
      ...(this.#o.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: this.#o.connectTimeoutMs }),
    });
    if (proxy.identity !== identity) throw new Error(`identity mismatch ${proxy.identity} != ${identity}`);
    await proxy.start(await this.#o.identity.credentials(identity));
    this.#pods.set(pod.uid, proxy);
  }

  async removePod(uid: string): Promise<void> {
    const proxy = this.#pods.get(uid);
    if (proxy === undefined) return;
    this.#pods.delete(uid);
    await proxy.stop({ drainMs: 0 });
  }

  async stats() {
    return {
      pods: [...this.#pods.values()].map((p) => ({ uid: p.pod.uid, ...p.stats() })),
      connections: this.tracker.size,
      workers: 0,
    };
  }

  async connections(): Promise<OpenConnection[]> {
    return this.#recorder.openConnections();
  }

  async close(drainMs: number): Promise<void> {
    this.#unsubscribe();
    await Promise.all([...this.#pods.values()].map((p) => p.stop({ drainMs })));
    this.#pods.clear();
  }
}
