/**
 * A data-plane worker thread: its own copy of discovery (sent by the control thread), the pods' certificates
 * as PEM, and a LocalDataPlane that binds this thread's own SO_REUSEPORT listeners inside every pod (setns
 * is per thread, so the worker enters each pod's namespace itself). Connections live and die here.
 */
import { setDefaultHighWaterMark } from 'node:stream';
import { createSecureContext, type SecureContext } from 'node:tls';
import { parentPort, workerData } from 'node:worker_threads';
import type { Authorization, Service, Workload } from '@weft/config';
import type { HboneCredentials } from '@weft/hbone';
import { componentLogger, createLogger, createRegistry, isLogLevel } from '@weft/telemetry';
import { errorCode, errorMessage } from '@weft/telemetry/errors';
import { LocalDataPlane } from './data-plane.js';
import type { DiscoveryView } from './discovery.js';
import type { CertificateMaterial } from './identity.js';
import type { DiscoverySnapshot, FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

type Change = { typeUrl: string; updated: readonly string[]; removed: readonly string[] };

/** Discovery as the control thread last sent it, with the IP indexes the data path uses. */
export class ReplicaView implements DiscoveryView {
  workloads = new Map<string, Workload>();
  services = new Map<string, Service>();
  authorizations = new Map<string, Authorization>();
  #byIp = new Map<string, Workload>();
  #svcByIp = new Map<string, Service>();
  readonly #listeners = new Set<(c: Change) => void>();

  replace(state: DiscoverySnapshot): void {
    this.workloads = new Map(state.workloads.map((w) => [w.uid, w]));
    this.services = new Map(state.services.map((s) => [`${s.namespace}/${s.hostname}`, s]));
    this.authorizations = new Map(state.authorizations);
    this.#byIp = new Map();
    for (const w of state.workloads) for (const ip of w.addresses) this.#byIp.set(ip, w);
    this.#svcByIp = new Map();
    for (const s of state.services) for (const a of s.addresses) this.#svcByIp.set(a.ip, s);
    const change = { typeUrl: 'replica', updated: [], removed: [] };
    for (const l of this.#listeners) l(change);
  }

  workloadByIp(ip: string): Workload | undefined {
    return this.#byIp.get(ip);
  }

  serviceByIp(ip: string): Service | undefined {
    return this.#svcByIp.get(ip);
  }

  onChange(listener: (c: Change) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** Credentials whose SecureContext is replaced when the control thread sends a renewed certificate. */
class RotatingCredentials implements HboneCredentials {
  readonly identity: string;
  #context: SecureContext;
  #domains: readonly string[];

  constructor(m: CertificateMaterial) {
    this.identity = m.identity;
    this.#context = RotatingCredentials.#build(m);
    this.#domains = m.trustDomains;
  }

  static #build(m: CertificateMaterial): SecureContext {
    return createSecureContext({ cert: m.chainPem, key: m.keyPem, ca: m.rootsPem, minVersion: 'TLSv1.3' });
  }

  update(m: CertificateMaterial): void {
    this.#context = RotatingCredentials.#build(m);
    this.#domains = m.trustDomains;
  }

  secureContext(): SecureContext {
    return this.#context;
  }

  trustDomains(): readonly string[] {
    return this.#domains;
  }
}

/** A full collection when the process runs with --expose-gc (benchmarks measuring live memory). */
function runGc(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  return gc !== undefined;
}

function run(): void {
  const port = parentPort;
  if (port === null) return;
  const init = workerData as WorkerInit;
  // Per thread, like the main thread's: fewer, larger reads and writes per tunnel.
  setDefaultHighWaterMark(false, 1024 * 1024);
  const logger = createLogger({
    name: 'weft-node',
    level: isLogLevel(init.logLevel) ? init.logLevel : 'info',
    format: 'json',
  }).child({ worker: init.index });
  const registry = createRegistry({ processMetrics: false, defaultLabels: { component: 'weft-node' } });
  const view = new ReplicaView();
  const creds = new Map<string, RotatingCredentials>();
  const plane = new LocalDataPlane({
    view,
    identity: {
      credentials: async (identity) => {
        const c = creds.get(identity);
        if (c === undefined) throw new Error(`no certificate received for ${identity}`);
        return c;
      },
    },
    registry,
    log: componentLogger(logger, 'pods'),
    accessLog: componentLogger(logger, 'access'),
    trustDomain: init.trustDomain,
    ...(init.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: init.connectTimeoutMs }),
  });
  const reply = (id: number, work: Promise<unknown>) => {
    work.then(
      (value) => port.postMessage({ t: 'reply', id, value } satisfies FromWorker),
      (err: unknown) =>
        port.postMessage({
          t: 'reply',
          id,
          error: { code: errorCode(err), message: errorMessage(err) },
        } satisfies FromWorker),
    );
  };
  port.on('message', (msg: ToWorker) => {
    switch (msg.t) {
      case 'state':
        view.replace(msg.state);
        return;
      case 'cert': {
        const c = creds.get(msg.material.identity);
        if (c === undefined) creds.set(msg.material.identity, new RotatingCredentials(msg.material));
        else c.update(msg.material);
        return;
      }
      case 'add':
        return reply(msg.id, plane.addPod(msg.pod, msg.identity));
      case 'del':
        return reply(msg.id, plane.removePod(msg.uid));
      case 'stats':
        return reply(msg.id, plane.stats());
      case 'metrics':
        return reply(msg.id, registry.getMetricsAsJSON());
      case 'memory': {
        const m = process.memoryUsage();
        return reply(msg.id, Promise.resolve({ heapUsed: m.heapUsed, external: m.external }));
      }
      case 'connections':
        return reply(
          msg.id,
          plane.connections().then((list) => list.map((c) => ({ ...c, worker: init.index }))),
        );
      case 'gc':
        return reply(msg.id, Promise.resolve(runGc()));
      case 'drain':
        return reply(
          msg.id,
          plane.close(msg.ms).then(() => logger.flush()),
        );
    }
  });
  port.postMessage({ t: 'ready' } satisfies FromWorker);
}

run();
