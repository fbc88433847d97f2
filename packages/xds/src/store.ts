/**
 * The client's typed view of what the control plane sent: workloads, services, authorizations and raw
 * config, with the version of each resource (sent back as initial_resource_versions on reconnect) and
 * IP indexes for the data path. It outlives connections: when pilot is down the last state keeps serving.
 */
import type { Authorization, ConfigObject, Service, Workload } from '@weft/config';
import type { DecodedAddress } from './convert.js';
import { TYPE_ADDRESS, TYPE_AUTHORIZATION, TYPE_CONFIG } from './types.js';

/** One applied response: names updated or removed (for Address: workload uids and service keys). */
export interface StoreChange {
  readonly typeUrl: string;
  readonly updated: readonly string[];
  readonly removed: readonly string[];
}

export type DecodedResource =
  | { readonly typeUrl: typeof TYPE_ADDRESS; readonly value: DecodedAddress }
  | { readonly typeUrl: typeof TYPE_AUTHORIZATION; readonly value: Authorization }
  | { readonly typeUrl: typeof TYPE_CONFIG; readonly value: ConfigObject };

export interface StoreUpsert {
  readonly name: string;
  readonly version: string;
  readonly resource: DecodedResource;
}

export class XdsStore {
  /** By uid. */
  readonly workloads = new Map<string, Workload>();
  /** By "namespace/hostname". */
  readonly services = new Map<string, Service>();
  /** By "namespace/name". */
  readonly authorizations = new Map<string, Authorization>();
  /** By "[group/]Kind/namespace/name" (configKey). */
  readonly configs = new Map<string, ConfigObject>();

  readonly #versions = new Map<string, Map<string, string>>();
  readonly #workloadByIp = new Map<string, Workload>();
  readonly #serviceByIp = new Map<string, Service>();
  readonly #byNode = new Map<string, Map<string, Workload>>();
  readonly #listeners = new Set<(change: StoreChange) => void>();

  /** Calls `listener` after every applied response; returns an unsubscribe function. */
  onChange(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The workload owning a pod IP (network '' only). */
  workloadByIp(ip: string): Workload | undefined {
    return this.#workloadByIp.get(ip);
  }

  /** The workloads scheduled on `node` (a node agent's own pods: listeners, certificates to prefetch). */
  workloadsOnNode(node: string): Workload[] {
    return [...(this.#byNode.get(node)?.values() ?? [])];
  }

  /** The service owning a VIP. */
  serviceByIp(ip: string): Service | undefined {
    return this.#serviceByIp.get(ip);
  }

  /** Name → version of what this store holds for a type (initial_resource_versions). */
  versions(typeUrl: string): Record<string, string> {
    return Object.fromEntries(this.#versions.get(typeUrl) ?? []);
  }

  /** Number of resources held of a type. */
  size(typeUrl: string): number {
    return this.#versions.get(typeUrl)?.size ?? 0;
  }

  /** Applies one response atomically (already decoded and validated), then notifies listeners. */
  apply(typeUrl: string, upserts: readonly StoreUpsert[], removals: readonly string[]): StoreChange {
    let versions = this.#versions.get(typeUrl);
    if (versions === undefined) {
      versions = new Map();
      this.#versions.set(typeUrl, versions);
    }
    const removed: string[] = [];
    for (const name of removals) {
      if (versions.delete(name)) removed.push(name);
      this.#remove(typeUrl, name);
    }
    const updated: string[] = [];
    for (const u of upserts) {
      // A name this store does not hold has nothing to take out of the indexes (most of a full sync).
      if (versions.has(u.name)) this.#remove(typeUrl, u.name);
      versions.set(u.name, u.version);
      this.#insert(u.name, u.resource);
      updated.push(u.name);
    }
    const change: StoreChange = { typeUrl, updated, removed };
    for (const listener of this.#listeners) listener(change);
    return change;
  }

  #insert(name: string, r: DecodedResource): void {
    switch (r.typeUrl) {
      case TYPE_ADDRESS:
        if (r.value.kind === 'workload') {
          const w = r.value.workload;
          this.workloads.set(name, w);
          for (const ip of w.addresses) this.#workloadByIp.set(ip, w);
          let onNode = this.#byNode.get(w.node);
          if (onNode === undefined) {
            onNode = new Map();
            this.#byNode.set(w.node, onNode);
          }
          onNode.set(name, w);
        } else {
          this.services.set(name, r.value.service);
          for (const a of r.value.service.addresses) this.#serviceByIp.set(a.ip, r.value.service);
        }
        return;
      case TYPE_AUTHORIZATION:
        this.authorizations.set(name, r.value);
        return;
      case TYPE_CONFIG:
        this.configs.set(name, r.value);
        return;
    }
  }

  #remove(typeUrl: string, name: string): void {
    if (typeUrl === TYPE_ADDRESS) {
      const w = this.workloads.get(name);
      if (w !== undefined) {
        this.workloads.delete(name);
        for (const ip of w.addresses) if (this.#workloadByIp.get(ip) === w) this.#workloadByIp.delete(ip);
        const onNode = this.#byNode.get(w.node);
        onNode?.delete(name);
        if (onNode?.size === 0) this.#byNode.delete(w.node);
      }
      const s = this.services.get(name);
      if (s !== undefined) {
        this.services.delete(name);
        for (const a of s.addresses) if (this.#serviceByIp.get(a.ip) === s) this.#serviceByIp.delete(a.ip);
      }
    } else if (typeUrl === TYPE_AUTHORIZATION) this.authorizations.delete(name);
    else if (typeUrl === TYPE_CONFIG) this.configs.delete(name);
  }

  /** What /config_dump shows. */
  dump(): {
    workloads: Workload[];
    services: Service[];
    policies: Authorization[];
    configs: { kind: string; namespace: string; name: string }[];
  } {
    return {
      workloads: [...this.workloads.values()],
      services: [...this.services.values()],
      policies: [...this.authorizations.values()],
      configs: [...this.configs.values()].map((c) => ({
        kind: c.kind,
        namespace: c.namespace,
        name: c.name,
      })),
    };
  }
}
