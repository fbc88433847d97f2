/**
 * The discovery loop: sources → (debounced) compile → xDS resources → push. Changes within the debounce
 * window (100 ms, istiod's PILOT_DEBOUNCE_AFTER) are pushed together; a continuous stream of changes is
 * still pushed at least every `maxDelayMs`. The window counts from the latest event as the source saw it
 * (a directory source reports the watch event, not the end of its rescan), so a source's own work overlaps
 * the debounce instead of adding to it. It also answers the CA's question "which identities run on
 * this node" from the same state.
 */
import {
  analyzeConfig,
  type CompiledConfig,
  type ConfigProblem,
  compileConfig,
  type DiscoveryState,
  formatConfigProblem,
  type KubeObject,
  type TranslateOptions,
  workloadSpiffeId,
} from '@weft/config';
import { errorMessage, gauge, histogram, type Logger, type Registry, silentLogger } from '@weft/telemetry';
import { bytesToIp, diffStates, roleFilter, stateToResources, XdsServer } from '@weft/xds';
import type { ConfigSource } from './sources/source.js';

export interface DiscoveryOptions {
  sources: readonly ConfigSource[];
  translate?: TranslateOptions;
  logger?: Logger;
  registry?: Registry;
  debounceMs?: number;
  maxDelayMs?: number;
  /**
   * The analyzers (reports only, never on the push path) run once pushes have been quiet this long (default
   * 250 ms), and at least every `analysisMaxDelayMs` (default 5 s) during a continuous stream of pushes.
   */
  analysisQuietMs?: number;
  analysisMaxDelayMs?: number;
  /** Servers to publish to (pilot has one; tests and benchmarks may pass their own). */
  servers?: readonly XdsServer[];
}

export class Discovery {
  readonly #options: DiscoveryOptions;
  readonly #logger: Logger;
  readonly #servers: XdsServer[];
  readonly #metrics;
  #compiled: CompiledConfig | undefined;
  /** The state every server holds (the previous one when a publish failed). */
  #published: DiscoveryState | undefined;
  #problems: readonly ConfigProblem[] = [];
  /** SPIFFE IDs by node, built on the first question after each state change. */
  #identitiesByNode: Map<string, Set<string>> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #analysisTimer: NodeJS.Timeout | undefined;
  /** When the oldest push not analyzed yet went out. */
  #unanalyzedSince: number | undefined;
  #firstChangeAt: number | undefined;
  #lastChangeAt: number | undefined;
  #synced = false;
  #version = 0;
  readonly #pushListeners = new Set<(version: number) => void>();

  constructor(options: DiscoveryOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger();
    this.#servers = [...(options.servers ?? [])];
    const r = options.registry;
    this.#metrics =
      r === undefined
        ? undefined
        : {
            convergence: histogram(
              r,
              'pilot_proxy_convergence_time',
              'Delay in seconds between a config change and the push of the result to all connected clients.',
              [],
              [0.01, 0.05, 0.1, 0.2, 0.5, 1, 3, 5, 10, 20, 30],
            ),
            problems: gauge(
              r,
              'weft_pilot_config_problems',
              'Config problems by severity (objects skipped on error).',
              ['severity'],
            ),
            objects: gauge(r, 'weft_pilot_discovery_resources', 'Resources served, by kind.', ['kind']),
          };
  }

  /** A server created with the default per-role filter, registered with this discovery. */
  createServer(options: ConstructorParameters<typeof XdsServer>[0] = {}): XdsServer {
    const server = new XdsServer({
      ...(this.#options.registry === undefined ? {} : { registry: this.#options.registry }),
      filter: (c, typeUrl, _name, r) => roleFilter(c.node.role, typeUrl, r),
      logger: this.#logger.child({ component: 'xds' }),
      ...options,
    });
    this.addServer(server);
    return server;
  }

  addServer(server: XdsServer): void {
    this.#servers.push(server);
    if (this.#published !== undefined) this.#publishTo(server, this.#published);
  }

  /** Loads every source, publishes the first state, then follows changes. */
  async start(): Promise<void> {
    await Promise.all(this.#options.sources.map((s) => s.start((eventAt) => this.#changed(eventAt))));
    this.#recompute();
    this.#synced = true;
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Push generations so far (tests and the benchmark wait on it). */
  get version(): number {
    return this.#version;
  }

  onPush(listener: (version: number) => void): () => void {
    this.#pushListeners.add(listener);
    return () => this.#pushListeners.delete(listener);
  }

  get state(): DiscoveryState | undefined {
    return this.#compiled?.translation.state;
  }

  get problems(): readonly ConfigProblem[] {
    return this.#problems;
  }

  /** What the CA asks: SPIFFE IDs of the mesh pods scheduled on `node`. */
  identitiesOnNode(node: string): ReadonlySet<string> {
    const state = this.state;
    if (state === undefined) return new Set();
    this.#identitiesByNode ??= placement(state);
    return this.#identitiesByNode.get(node) ?? new Set();
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    clearTimeout(this.#analysisTimer);
    await Promise.all(this.#options.sources.map((s) => s.close()));
  }

  /** Recomputes now, skipping the debounce (tests, SIGHUP). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#recompute();
  }

  #changed(eventAt?: number): void {
    if (!this.#synced) return; // start() computes once everything is loaded
    const now = performance.now();
    const at = eventAt === undefined ? now : Math.min(eventAt, now);
    this.#firstChangeAt = Math.min(this.#firstChangeAt ?? at, at);
    this.#lastChangeAt = Math.max(this.#lastChangeAt ?? at, at);
    const debounce = this.#options.debounceMs ?? 100;
    const maxDelay = this.#options.maxDelayMs ?? 10_000;
    clearTimeout(this.#timer);
    // Quiet for `debounce` since the latest event, but never later than `maxDelay` after the first one.
    const due = Math.min(this.#lastChangeAt + debounce, this.#firstChangeAt + maxDelay);
    this.#timer = setTimeout(() => this.#recompute(), Math.max(0, due - now));
  }

  #recompute(): void {
    this.#timer = undefined;
    const started = this.#firstChangeAt;
    this.#firstChangeAt = undefined;
    this.#lastChangeAt = undefined;
    try {
      const objects: KubeObject[] = [];
      const earlier: ConfigProblem[] = [];
      for (const s of this.#options.sources) {
        const snap = s.snapshot();
        for (const o of snap.objects) objects.push(o);
        for (const p of snap.problems) earlier.push(p);
      }
      const previous = this.#compiled?.translation;
      const compiled = compileConfig(
        objects,
        { ...this.#options.translate, ...(previous === undefined ? {} : { previous }) },
        earlier,
      );
      this.#compiled = compiled;
      const state = compiled.translation.state;
      this.#identitiesByNode = undefined;
      // Only what differs from the published state is encoded and offered to the servers.
      const deltas = diffStates(this.#published, state);
      for (const server of this.#servers)
        for (const [typeUrl, d] of deltas) server.updateResources(typeUrl, d.upserts, d.removed);
      this.#published = state;
      this.#version++;
      if (started !== undefined) this.#metrics?.convergence.observe((performance.now() - started) / 1000);
      this.#metrics?.objects.set({ kind: 'workload' }, state.workloads.size);
      this.#metrics?.objects.set({ kind: 'service' }, state.services.size);
      this.#metrics?.objects.set({ kind: 'authorization' }, state.authorizations.size);
      this.#metrics?.objects.set({ kind: 'config' }, state.configs.size);
      for (const l of this.#pushListeners) l(this.#version);
      // Analyzers only report: run them once the pushes have gone out to every client (the servers send one
      // client per event-loop turn; analysis in between would hold the rest back), for the latest state only.
      void Promise.all(this.#servers.map((server) => server.whenSent())).then(() => this.#scheduleAnalysis());
    } catch (err) {
      // Never stop serving the last good state because one recompute failed.
      this.#logger.error(
        { err: errorMessage(err) },
        'discovery recompute failed; keeping the previous state',
      );
    }
  }

  /** Analyzes the latest state once pushes are quiet (a burst of edits is analyzed once, not per push). */
  #scheduleAnalysis(): void {
    const now = performance.now();
    this.#unanalyzedSince ??= now;
    const quiet = this.#options.analysisQuietMs ?? 250;
    const max = this.#options.analysisMaxDelayMs ?? 5000;
    clearTimeout(this.#analysisTimer);
    const due = Math.min(now + quiet, this.#unanalyzedSince + max);
    this.#analysisTimer = setTimeout(() => this.#analyze(), Math.max(0, due - now));
    this.#analysisTimer.unref();
  }

  #analyze(): void {
    this.#analysisTimer = undefined;
    this.#unanalyzedSince = undefined;
    const compiled = this.#compiled;
    if (compiled === undefined) return;
    try {
      const problems = analyzeConfig(compiled, this.#options.translate ?? {});
      this.#logProblems(problems);
      this.#problems = problems;
    } catch (err) {
      this.#logger.error({ err: errorMessage(err) }, 'config analysis failed');
    }
  }

  #publishTo(server: XdsServer, state: DiscoveryState): void {
    for (const [typeUrl, resources] of stateToResources(state)) server.setResources(typeUrl, resources);
  }

  #logProblems(problems: readonly ConfigProblem[]): void {
    const previous = new Set(this.#problems.map(formatConfigProblem));
    const counts = { error: 0, warning: 0, info: 0 };
    for (const p of problems) {
      counts[p.severity]++;
      const line = formatConfigProblem(p);
      if (previous.has(line)) continue; // report each problem once, not on every push
      if (p.severity === 'error') this.#logger.warn({ code: p.code }, line);
      else this.#logger.info({ code: p.code }, line);
    }
    for (const [severity, n] of Object.entries(counts)) this.#metrics?.problems.set({ severity }, n);
  }

  /** /config_dump: what is served and what is wrong. */
  dump(): unknown {
    const state = this.state;
    return {
      synced: this.#synced,
      version: this.#version,
      problems: this.#problems.map(formatConfigProblem),
      workloads: state === undefined ? [] : [...state.workloads.values()],
      services: state === undefined ? [] : [...state.services.values()],
      policies:
        state === undefined
          ? []
          : [...state.authorizations.values()].map((a) => ({
              ...a,
              rules: JSON.parse(
                JSON.stringify(a.rules, (_k, v: unknown) =>
                  v instanceof Uint8Array ? (v.length === 4 || v.length === 16 ? bytesToIp(v) : [...v]) : v,
                ),
              ),
            })),
      configs: state === undefined ? [] : [...state.configs.keys()],
      clients: this.#servers.flatMap((s) => s.clients()),
    };
  }
}

/** Node → SPIFFE IDs of the mesh (HBONE) workloads scheduled there. */
function placement(state: DiscoveryState): Map<string, Set<string>> {
  const byNode = new Map<string, Set<string>>();
  for (const w of state.workloads.values()) {
    if (w.node === '' || w.tunnelProtocol !== 'HBONE') continue;
    let set = byNode.get(w.node);
    if (set === undefined) {
      set = new Set();
      byNode.set(w.node, set);
    }
    set.add(workloadSpiffeId(w));
  }
  return byNode;
}
