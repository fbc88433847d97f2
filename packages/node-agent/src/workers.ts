/**
 * The control thread's side of the worker threads: it starts them, keeps their copy of discovery and the
 * pods' certificates current, asks every worker to bind (or release) a pod's listeners, and merges their
 * metrics into the process's /metrics.
 */
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { Logger } from '@weft/telemetry';
import { AggregatorRegistry, Registry } from 'prom-client';
import type { DataPlane, PodStats } from './data-plane.js';
import type { DiscoveryView } from './discovery.js';
import type { IdentityProvider } from './identity.js';
import type { PodInfo } from './lifecycle-protocol.js';
import type { OpenConnection } from './traffic.js';
import type { DiscoverySnapshot, FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

const ENTRY = new URL('../bin/data-worker.mjs', import.meta.url);

/**
 * The old-generation size a data worker's heap starts with before V8 plans a full collection (MiB).
 * Measured (bench/l4-path, --trace-incremental-marking): with the small limit V8 gives worker isolates by
 * default, a worker moving bulk data started a full mark-compact every ~80 ms although its heap stayed at
 * ~17 MiB; V8's marking threads took ~30 % of the agent's CPU and one iperf3 connection reached ~0.8x stunnel.
 * From 64 MiB it marks a few times a minute (the memory reducer, when idle) and the same run reached ~1.0x.
 * The heap still collects young garbage as before; old-generation garbage may reach this size before a
 * full collection.
 */
const WORKER_INITIAL_OLD_SPACE_MB = 64;
let workerHeapConfigured = false;

/** V8 reads heap flags when an isolate is created: set this one before the first worker starts. */
function configureWorkerHeap(): void {
  if (workerHeapConfigured) return;
  workerHeapConfigured = true;
  setFlagsFromString(`--initial-old-space-size=${WORKER_INITIAL_OLD_SPACE_MB}`);
}

/** A request message without its id (distributed over the union). */
type Request = ToWorker extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

class WorkerHandle {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  #next = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #dead: Error | undefined;

  constructor(init: WorkerInit, log: Logger, onExit: (code: number) => void) {
    configureWorkerHeap();
    this.worker = new Worker(ENTRY, { workerData: init });
    let onReady: () => void = () => undefined;
    let onFail: (e: Error) => void = () => undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    this.worker.on('message', (msg: FromWorker) => {
      if (msg.t === 'ready') return onReady();
      const p = this.#pending.get(msg.id);
      if (p === undefined) return;
      this.#pending.delete(msg.id);
      if (msg.error !== undefined)
        p.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
      else p.resolve(msg.value);
    });
    const die = (err: Error) => {
      this.#dead ??= err;
      onFail(err);
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    this.worker.on('error', (err) => {
      log.error({ worker: init.index, err: err.message }, 'data-plane worker failed');
      die(err);
    });
    this.worker.on('exit', (code) => {
      die(new Error(`data-plane worker ${init.index} exited with ${code}`));
      onExit(code);
    });
  }

  post(msg: ToWorker): void {
    if (this.#dead === undefined) this.worker.postMessage(msg);
  }

  request<T>(msg: Request): Promise<T> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...msg, id } as ToWorker);
    });
  }
}

export interface WorkerDataPlaneOptions {
  count: number;
  view: DiscoveryView;
  identity: IdentityProvider;
  trustDomain: string;
  logLevel: string;
  log: Logger;
  connectTimeoutMs?: number;
}

export function snapshotOf(view: DiscoveryView): DiscoverySnapshot {
  return {
    workloads: [...view.workloads.values()],
    services: [...view.services.values()],
    authorizations: [...view.authorizations.entries()],
  };
}

export class WorkerDataPlane implements DataPlane {
  #workers: WorkerHandle[] = [];
  readonly #o: WorkerDataPlaneOptions;
  readonly #identities = new Map<string, number>();
  readonly #podIdentity = new Map<string, string>();
  readonly #pods = new Map<string, PodInfo>();
  #closing = false;
  readonly #offView: () => void;
  readonly #offRotation: () => void;
  #statePending = false;

  private constructor(options: WorkerDataPlaneOptions) {
    this.#o = options;
    this.#workers = Array.from({ length: options.count }, (_, index) => this.#spawn(index));
    // Coalesce bursts of discovery changes into one snapshot per turn of the event loop.
    this.#offView = options.view.onChange(() => {
      if (this.#statePending) return;
      this.#statePending = true;
      queueMicrotask(() => {
        this.#statePending = false;
        this.#broadcast({ t: 'state', state: snapshotOf(options.view) });
      });
    });
    this.#offRotation = options.identity.onRotation((material) => {
      if (this.#identities.has(material.identity)) this.#broadcast({ t: 'cert', material });
    });
    this.#broadcast({ t: 'state', state: snapshotOf(options.view) });
  }

  #spawn(index: number): WorkerHandle {
    const o = this.#o;
    const init: WorkerInit = {
      index,
      trustDomain: o.trustDomain,
      logLevel: o.logLevel,
      ...(o.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: o.connectTimeoutMs }),
    };
    return new WorkerHandle(init, o.log, (code) => {
      if (this.#closing) return;
      // The other workers keep serving every pod (their SO_REUSEPORT listeners); bring this one back.
      o.log.error({ worker: index, code }, 'data-plane worker exited; restarting it');
      setTimeout(() => {
        const done = this.#respawn(index);
        for (const waiter of this.#respawnWaiters.splice(0)) void done.then(waiter);
      }, 500).unref();
    });
  }

  readonly #respawnWaiters: (() => void)[] = [];

  /**
   * Recycles one worker thread (operators: e.g. one that misbehaves): it is terminated — its accept queue
   * moves to the other workers' SO_REUSEPORT listeners, its open connections end — then restarted and every
   * pod re-bound on it, as after a crash. Resolves once the new worker serves again.
   */
  async recycle(index: number): Promise<void> {
    const handle = this.#workers[index];
    if (handle === undefined) throw new Error(`no worker ${index} (there are ${this.#workers.length})`);
    const restarted = new Promise<void>((resolve) => this.#respawnWaiters.push(resolve));
    await handle.worker.terminate();
    await restarted;
  }

  async #respawn(index: number): Promise<void> {
    if (this.#closing) return;
    const handle = this.#spawn(index);
    this.#workers[index] = handle;
    try {
      await handle.ready;
      handle.post({ t: 'state', state: snapshotOf(this.#o.view) });
      for (const identity of this.#identities.keys())
        handle.post({ t: 'cert', material: await this.#o.identity.material(identity) });
      for (const [uid, pod] of this.#pods) {
        const identity = this.#podIdentity.get(uid);
        if (identity !== undefined) await handle.request({ t: 'add', pod, identity });
      }
      this.#o.log.info({ worker: index, pods: this.#pods.size }, 'data-plane worker restarted');
    } catch (err) {
      this.#o.log.error({ worker: index, err: String(err) }, 'restarting a data-plane worker failed');
    }
  }

  static async start(options: WorkerDataPlaneOptions): Promise<WorkerDataPlane> {
    const plane = new WorkerDataPlane(options);
    await Promise.all(plane.#workers.map((w) => w.ready));
    return plane;
  }

  #broadcast(msg: ToWorker): void {
    for (const w of this.#workers) w.post(msg);
  }

  async addPod(pod: PodInfo, identity: string): Promise<void> {
    const material = await this.#o.identity.material(identity);
    if (this.#podIdentity.get(pod.uid) !== identity) {
      await this.removePod(pod.uid);
      this.#podIdentity.set(pod.uid, identity);
      this.#identities.set(identity, (this.#identities.get(identity) ?? 0) + 1);
    }
    this.#broadcast({ t: 'cert', material });
    this.#pods.set(pod.uid, pod);
    try {
      await Promise.all(this.#workers.map((w) => w.request({ t: 'add', pod, identity })));
    } catch (err) {
      await this.removePod(pod.uid).catch(() => undefined);
      throw err;
    }
  }

  async removePod(uid: string): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.request({ t: 'del', uid })));
    const identity = this.#podIdentity.get(uid);
    this.#podIdentity.delete(uid);
    this.#pods.delete(uid);
    if (identity !== undefined) {
      const n = (this.#identities.get(identity) ?? 1) - 1;
      if (n <= 0) this.#identities.delete(identity);
      else this.#identities.set(identity, n);
    }
  }

  async stats(): Promise<{ pods: PodStats[]; connections: number; workers: number }> {
    const all = await Promise.all(
      this.#workers.map((w) => w.request<{ pods: PodStats[]; connections: number }>({ t: 'stats' })),
    );
    const pods = new Map<string, PodStats>();
    for (const s of all) {
      for (const p of s.pods) {
        const acc = pods.get(p.uid) ?? { uid: p.uid, clients: 0, hboneConnections: 0 };
        acc.clients += p.clients;
        acc.hboneConnections += p.hboneConnections;
        pods.set(p.uid, acc);
      }
    }
    return {
      pods: [...pods.values()],
      connections: all.reduce((n, s) => n + s.connections, 0),
      workers: all.length,
    };
  }

  async connections(): Promise<OpenConnection[]> {
    const all = await Promise.all(
      this.#workers.map((w) => w.request<OpenConnection[]>({ t: 'connections' })),
    );
    return all.flat();
  }

  /** Heap used + external memory of every worker's isolate. */
  async memory(): Promise<{ heapUsed: number; external: number }[]> {
    return Promise.all(
      this.#workers.map((w) => w.request<{ heapUsed: number; external: number }>({ t: 'memory' })),
    );
  }

  /** A full GC in every worker (only with --expose-gc; benchmarks). */
  async gc(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.request({ t: 'gc' })));
  }

  /** Every worker's metrics (getMetricsAsJSON), for AggregatingRegistry. */
  metrics(): Promise<object[]> {
    return Promise.all(this.#workers.map((w) => w.request<object>({ t: 'metrics' }).catch(() => [])));
  }

  async close(drainMs: number): Promise<void> {
    this.#closing = true;
    this.#offView();
    this.#offRotation();
    // A worker that does not finish draining in time is terminated anyway.
    const bound = <T>(p: Promise<T>) =>
      Promise.race([p, new Promise<void>((resolve) => setTimeout(resolve, drainMs + 2000).unref())]);
    await Promise.all(
      this.#workers.map((w) => bound(w.request({ t: 'drain', ms: drainMs })).catch(() => undefined)),
    );
    await Promise.all(this.#workers.map((w) => w.worker.terminate()));
  }
}

/** The process registry for /metrics: the control thread's own metrics plus every worker's, summed. */
export class AggregatingRegistry extends Registry {
  readonly #base: Registry;
  readonly #workers: () => Promise<object[]>;

  constructor(base: Registry, workers: () => Promise<object[]>) {
    super();
    this.#base = base;
    this.#workers = workers;
  }

  override async metrics(): Promise<string> {
    const parts = [await this.#base.getMetricsAsJSON(), ...(await this.#workers())];
    return AggregatorRegistry.aggregate(parts).metrics();
  }
}
