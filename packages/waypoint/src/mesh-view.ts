/**
 * What the waypoint needs from discovery: services by VIP, workloads by IP, endpoints of a service and
 * the raw config objects. @weft/xds's XdsStore satisfies MeshView as is; tests use StaticMeshView.
 */
import type { AppProtocol, ConfigObject, Service, Workload } from '@weft/config';
import { serviceKey } from '@weft/config';

export interface MeshChange {
  readonly typeUrl: string;
}

export interface MeshView {
  readonly workloads: ReadonlyMap<string, Workload>;
  readonly services: ReadonlyMap<string, Service>;
  readonly configs: ReadonlyMap<string, ConfigObject>;
  serviceByIp(ip: string): Service | undefined;
  workloadByIp(ip: string): Workload | undefined;
  onChange(listener: (change: MeshChange) => void): () => void;
}

/** Where a CONNECT stream is going, as the waypoint understands it. */
export interface Destination {
  /** Set when :authority is a service VIP. */
  readonly service?: Service;
  /** Set when :authority is a pod IP. */
  readonly workload?: Workload;
  readonly ip: string;
  readonly port: number;
  readonly appProtocol: AppProtocol | undefined;
}

/** One concrete backend: a pod and the port to reach it on. */
export interface Endpoint {
  readonly workload: Workload | undefined;
  readonly ip: string;
  readonly port: number;
  /** Connections are pooled per this key (default ip:port); gateways add the host they originate TLS for. */
  readonly poolKey?: string;
}

export function resolveDestination(view: MeshView, ip: string, port: number): Destination {
  const service = view.serviceByIp(ip);
  if (service !== undefined) {
    const mapping = service.ports.find((p) => p.servicePort === port);
    return { service, ip, port, appProtocol: mapping?.appProtocol };
  }
  const workload = view.workloadByIp(ip);
  if (workload !== undefined) {
    let appProtocol: AppProtocol | undefined;
    for (const ports of Object.values(workload.services)) {
      const m = ports.find((p) => (p.targetPort === 0 ? p.servicePort : p.targetPort) === port);
      if (m !== undefined) appProtocol = m.appProtocol;
    }
    return { workload, ip, port, appProtocol };
  }
  return { ip, port, appProtocol: undefined };
}

/** service key → healthy workloads, rebuilt lazily after discovery changes. */
export class EndpointIndex {
  readonly #view: MeshView;
  #index: Map<string, Workload[]> | undefined;
  /** Endpoint lists per service object and port, built once per discovery change (the same objects each time). */
  #lists = new WeakMap<Service, Map<number, readonly Endpoint[]>>();
  readonly #unsubscribe: () => void;

  constructor(view: MeshView) {
    this.#view = view;
    this.#unsubscribe = view.onChange(() => {
      this.#index = undefined;
      this.#lists = new WeakMap();
    });
  }

  #build(): Map<string, Workload[]> {
    const index = new Map<string, Workload[]>();
    for (const w of this.#view.workloads.values()) {
      if (w.status !== 'HEALTHY' || w.addresses.length === 0) continue;
      for (const key of Object.keys(w.services)) {
        let list = index.get(key);
        if (list === undefined) {
          list = [];
          index.set(key, list);
        }
        list.push(w);
      }
    }
    return index;
  }

  #list(service: Service, port: number): readonly Endpoint[] {
    let byPort = this.#lists.get(service);
    const hit = byPort?.get(port);
    if (hit !== undefined) return hit;
    this.#index ??= this.#build();
    const key = serviceKey(service);
    const workloads = this.#index.get(key) ?? [];
    const out: Endpoint[] = [];
    const svcMapping = service.ports.find((p) => p.servicePort === port);
    for (const w of workloads) {
      const mapping = w.services[key]?.find((p) => p.servicePort === port);
      const target = mapping?.targetPort || svcMapping?.targetPort || port;
      const ip = w.addresses[0];
      if (ip !== undefined) out.push({ workload: w, ip, port: target });
    }
    if (byPort === undefined) {
      byPort = new Map();
      this.#lists.set(service, byPort);
    }
    byPort.set(port, out);
    return out;
  }

  /** Candidate endpoints for a destination, in random order. */
  endpoints(dest: Destination, random: () => number = Math.random): Endpoint[] {
    if (dest.service === undefined) {
      return [{ workload: dest.workload, ip: dest.ip, port: dest.port }];
    }
    const out = this.#list(dest.service, dest.port).slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = out[i] as Endpoint;
      out[i] = out[j] as Endpoint;
      out[j] = t;
    }
    return out;
  }

  close(): void {
    this.#unsubscribe();
  }
}

/** A MeshView over fixed data, for tests and benchmarks; `update()` replaces it and notifies. */
export class StaticMeshView implements MeshView {
  workloads = new Map<string, Workload>();
  services = new Map<string, Service>();
  configs = new Map<string, ConfigObject>();
  readonly #listeners = new Set<(c: MeshChange) => void>();

  constructor(init: { workloads?: Workload[]; services?: Service[]; configs?: ConfigObject[] } = {}) {
    this.update(init);
  }

  update(next: { workloads?: Workload[]; services?: Service[]; configs?: ConfigObject[] }): void {
    if (next.workloads !== undefined) this.workloads = new Map(next.workloads.map((w) => [w.uid, w]));
    if (next.services !== undefined) this.services = new Map(next.services.map((s) => [serviceKey(s), s]));
    if (next.configs !== undefined)
      this.configs = new Map(next.configs.map((c) => [`${c.kind}/${c.namespace}/${c.name}`, c]));
    for (const l of this.#listeners) l({ typeUrl: 'static' });
  }

  serviceByIp(ip: string): Service | undefined {
    for (const s of this.services.values()) if (s.addresses.some((a) => a.ip === ip)) return s;
    return undefined;
  }

  workloadByIp(ip: string): Workload | undefined {
    for (const w of this.workloads.values()) if (w.addresses.includes(ip)) return w;
    return undefined;
  }

  onChange(listener: (change: MeshChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
