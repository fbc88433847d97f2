/**
 * weft-node's control core: pods enrolled through the lifecycle protocol, their capture rules and
 * certificates, readiness and the config dump. The listeners live in a DataPlane: on this thread
 * (LocalDataPlane) or on worker threads (WorkerDataPlane), each binding its own SO_REUSEPORT listeners in
 * every pod. Discovery and certificates come in through ports (DiscoveryView, IdentityProvider) so the same
 * core runs against pilot in production and against an in-memory store in tests.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { installCapture, removeCapture } from '@weft/netns';
import { componentLogger, type Logger, type Readiness, type Registry } from '@weft/telemetry';
import { errorMessage } from '@weft/telemetry/errors';
import { type DataPlane, LocalDataPlane, type PodStats } from './data-plane.js';
import type { DiscoveryView } from './discovery.js';
import { NodeAgentError, NodeErrorCode } from './errors.js';
import type { IdentityProvider } from './identity.js';
import { type LifecycleRequest, optedOut, type PodInfo, parsePod } from './lifecycle-protocol.js';
import type { OpenConnection } from './traffic.js';
import { WorkerDataPlane } from './workers.js';

export interface NodeAgentOptions {
  view: DiscoveryView;
  identity: IdentityProvider;
  registry: Registry;
  logger: Logger;
  trustDomain: string;
  readiness?: Readiness;
  connectTimeoutMs?: number;
  /** Data-plane worker threads; 0 runs the data path on this thread. */
  workers?: number;
  /** Log level for worker threads (they log to stdout themselves). */
  logLevel?: string;
  /** Enrolled pods are written here after every change, and re-enrolled from here by restore(). */
  stateFile?: string;
}

export const READY_PODS = 'pods captured';

interface Enrolled {
  pod: PodInfo;
  identity: string;
}

export class NodeAgent {
  readonly #o: NodeAgentOptions;
  readonly #log: Logger;
  readonly #plane: DataPlane;
  readonly #pods = new Map<string, Enrolled>();
  readonly #optedOut = new Map<string, PodInfo>();
  readonly #pending = new Map<string, Promise<void>>();
  #stats: { pods: PodStats[]; connections: number; workers: number } = {
    pods: [],
    connections: 0,
    workers: 0,
  };
  #closed = false;

  private constructor(options: NodeAgentOptions, plane: DataPlane) {
    this.#o = options;
    this.#log = componentLogger(options.logger, 'pods');
    this.#plane = plane;
  }

  static async start(options: NodeAgentOptions): Promise<NodeAgent> {
    const log = componentLogger(options.logger, 'pods');
    const plane =
      (options.workers ?? 0) > 0
        ? await WorkerDataPlane.start({
            count: options.workers ?? 0,
            view: options.view,
            identity: options.identity,
            trustDomain: options.trustDomain,
            logLevel: options.logLevel ?? 'info',
            log,
            ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
          })
        : new LocalDataPlane({
            view: options.view,
            identity: options.identity,
            registry: options.registry,
            log,
            accessLog: componentLogger(options.logger, 'access'),
            trustDomain: options.trustDomain,
            ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
          });
    return new NodeAgent(options, plane);
  }

  /**
   * A full garbage collection on every thread, when the process runs with --expose-gc (benchmarks that
   * measure live memory per tunnel); false otherwise.
   */
  async gc(): Promise<boolean> {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc === undefined) return false;
    gc();
    if (this.#plane instanceof WorkerDataPlane) await this.#plane.gc();
    return true;
  }

  /**
   * Memory per thread (V8 heap used + external buffers) and the process RSS: what a tunnel really holds
   * shows here, where RSS keeps pages a burst once needed.
   */
  async memory(): Promise<{ rss: number; heapUsed: number; external: number; threads: number }> {
    const own = process.memoryUsage();
    const workers = this.#plane instanceof WorkerDataPlane ? await this.#plane.memory() : [];
    return {
      rss: own.rss,
      heapUsed: workers.reduce((n, w) => n + w.heapUsed, own.heapUsed),
      external: workers.reduce((n, w) => n + w.external, own.external),
      threads: 1 + workers.length,
    };
  }

  /** Restarts data-plane worker `index` (see WorkerDataPlane.recycle); no-op without workers. */
  async recycleWorker(index: number): Promise<void> {
    if (this.#plane instanceof WorkerDataPlane) await this.#plane.recycle(index);
  }

  /** Open connections on every data-plane thread (admin /debug/connections). */
  connections(): Promise<OpenConnection[]> {
    return this.#plane.connections();
  }

  /** The worker threads' metrics, when the data path runs on workers (merged into /metrics). */
  workerMetrics(): Promise<object[]> {
    return this.#plane instanceof WorkerDataPlane ? this.#plane.metrics() : Promise.resolve([]);
  }

  /** Handles one lifecycle request (the Unix socket calls this). */
  async handle(request: LifecycleRequest): Promise<void> {
    if (this.#closed) throw new NodeAgentError(NodeErrorCode.PodAdd, 'the agent is shutting down');
    try {
      await this.#handle(request);
    } finally {
      this.#persist();
    }
  }

  /**
   * Re-enrolls the pods a previous agent on this node held (state file), skipping those whose namespace is
   * gone, then marks the pods condition ready: after a restart or upgrade the pods' listeners come back
   * without waiting for weft-cni, which only calls when a pod is created. Returns how many were restored.
   */
  async restore(): Promise<number> {
    const file = this.#o.stateFile;
    let restored = 0;
    if (file !== undefined && existsSync(file)) {
      let pods: PodInfo[] = [];
      try {
        const raw = JSON.parse(readFileSync(file, 'utf8')) as { pods?: unknown[] };
        pods = (raw.pods ?? []).map((p) => parsePod(p, 'state file'));
      } catch (err) {
        this.#log.warn({ err: errorMessage(err), file }, 'ignoring an unreadable pod state file');
      }
      for (const pod of pods) {
        if (!existsSync(pod.netnsPath)) continue;
        try {
          await this.add(pod);
          restored++;
        } catch (err) {
          this.#log.warn(
            { err: errorMessage(err), pod: `${pod.namespace}/${pod.name}` },
            'could not restore pod',
          );
        }
      }
      this.#persist();
    }
    this.#o.readiness?.markReady(READY_PODS);
    if (restored > 0) this.#log.info({ restored }, 'pods restored from the state file');
    return restored;
  }

  #persist(): void {
    const file = this.#o.stateFile;
    if (file === undefined || this.#closed) return;
    try {
      const tmp = `${file}.tmp`;
      const pods = [...this.#pods.values()].map((e) => e.pod).concat([...this.#optedOut.values()]);
      writeFileSync(tmp, `${JSON.stringify({ pods })}\n`, { mode: 0o600 });
      renameSync(tmp, file);
    } catch (err) {
      this.#log.warn({ err: errorMessage(err), file }, 'could not write the pod state file');
    }
  }

  async #handle(request: LifecycleRequest): Promise<void> {
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

  /**
   * Enrolls a pod: capture rules first (fail closed: until the listeners exist, captured traffic is
   * refused or dropped), then its certificate, then the listeners on every data-plane thread.
   */
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
      const same =
        existing.pod.netnsPath === pod.netnsPath &&
        existing.pod.ips.join() === pod.ips.join() &&
        existing.pod.serviceAccount === pod.serviceAccount;
      if (same) return;
      await this.remove(pod.uid);
    }
    const identity = `spiffe://${this.#o.trustDomain}/ns/${pod.namespace}/sa/${pod.serviceAccount}`;
    const work = (async () => {
      try {
        await installCapture(pod.netnsPath);
        await this.#plane.addPod(pod, identity);
      } catch (err) {
        throw new NodeAgentError(
          NodeErrorCode.PodAdd,
          `enrolling pod ${pod.namespace}/${pod.name} failed: ${errorMessage(err)}`,
          { cause: err },
        );
      }
      this.#pods.set(pod.uid, { pod, identity });
      this.#log.info({ pod: `${pod.namespace}/${pod.name}`, ips: pod.ips, identity }, 'pod captured');
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
    const enrolled = this.#pods.get(uid);
    if (enrolled === undefined) {
      this.#log.debug({ uid, code: NodeErrorCode.UnknownPod }, 'del for a pod that is not enrolled');
      return;
    }
    this.#pods.delete(uid);
    await this.#plane.removePod(uid);
    await removeCapture(enrolled.pod.netnsPath).catch((err: unknown) =>
      this.#log.warn({ err: errorMessage(err) }, 'could not remove capture rules (pod namespace gone?)'),
    );
    if (![...this.#pods.values()].some((p) => p.identity === enrolled.identity))
      this.#o.identity.forget(enrolled.identity);
    this.#log.info({ pod: `${enrolled.pod.namespace}/${enrolled.pod.name}` }, 'pod released');
  }

  pods(): PodInfo[] {
    return [...this.#pods.values()].map((e) => e.pod);
  }

  /** Data-plane stats (listeners, connections), refreshed; configDump shows the last ones. */
  async refreshStats(): Promise<void> {
    this.#stats = await this.#plane.stats();
  }

  configDump(): unknown {
    void this.refreshStats().catch(() => undefined);
    const byUid = new Map(this.#stats.pods.map((p) => [p.uid, p]));
    return {
      pods: [...this.#pods.values()].map(({ pod, identity }) => ({
        uid: pod.uid,
        name: pod.name,
        namespace: pod.namespace,
        ips: pod.ips,
        netnsPath: pod.netnsPath,
        identity,
        captured: true,
        clients: byUid.get(pod.uid)?.clients ?? 0,
        hboneConnections: byUid.get(pod.uid)?.hboneConnections ?? 0,
      })),
      optedOut: [...this.#optedOut.values()].map((p) => ({
        uid: p.uid,
        name: p.name,
        namespace: p.namespace,
      })),
      connections: this.#stats.connections,
      workers: this.#stats.workers,
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
    await this.#plane.close(options.drainMs);
    if (options.uninstall) {
      for (const { pod } of this.#pods.values()) await removeCapture(pod.netnsPath).catch(() => undefined);
    }
    this.#pods.clear();
  }
}
