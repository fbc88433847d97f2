/**
 * Pooled HTTP clients to endpoints, over whatever the connector gives (HBONE tunnels in the mesh):
 * HTTP/1.1 keep-alive agents and one HTTP/2 session per endpoint. Connection failures surface before
 * any request byte is sent, so callers can safely retry another endpoint.
 */
import { Agent, type AgentOptions } from 'node:http';
import { type ClientHttp2Session, connect as h2connect } from 'node:http2';
import type { Duplex } from 'node:stream';
import { formatHostPort } from '@weft/hbone';
import { H1Pool } from './h1-pool.js';
import type { Endpoint } from './mesh-view.js';
import type { UpstreamConnector } from './upstream.js';

type CreateConnection = (options: unknown, cb: (err: Error | null, socket?: Duplex) => void) => undefined;

export interface UpstreamClientOptions {
  connector: UpstreamConnector;
  /** HTTP/1.1 connections per endpoint (default 256). */
  maxSocketsPerEndpoint?: number;
  /** Idle keep-alive connections are closed after this (default 60 s). */
  idleTimeoutMs?: number;
  /** Cap on pooled endpoints (oldest dropped). */
  maxEndpoints?: number;
  /** Largest upstream HTTP/1.1 response head (default 60 KiB). */
  maxResponseHeadBytes?: number;
}

function keyOf(ep: Endpoint): string {
  return ep.poolKey ?? formatHostPort(ep.ip, ep.port);
}

export class UpstreamClients {
  readonly #o: UpstreamClientOptions;
  readonly #agents = new Map<string, Agent>();
  readonly #pools = new Map<string, H1Pool>();
  readonly #byEndpoint = new WeakMap<Endpoint, H1Pool>();
  #sweeper: NodeJS.Timeout | undefined;
  readonly #sessions = new Map<string, Promise<ClientHttp2Session>>();
  #closed = false;

  constructor(options: UpstreamClientOptions) {
    this.#o = options;
  }

  /** The lean keep-alive HTTP/1.1 connection pool to an endpoint (the HTTP/1.1 engine's upstream). */
  pool(ep: Endpoint): H1Pool {
    // Endpoint objects are reused until discovery changes: remember their pool without building the key.
    const known = this.#byEndpoint.get(ep);
    if (known !== undefined && !known.closed) return known;
    const key = keyOf(ep);
    let pool = this.#pools.get(key);
    if (pool !== undefined) {
      this.#byEndpoint.set(ep, pool);
      return pool;
    }
    pool = new H1Pool(ep, {
      connector: this.#o.connector,
      maxConnections: this.#o.maxSocketsPerEndpoint ?? 256,
      maxHeadBytes: this.#o.maxResponseHeadBytes ?? 60 * 1024,
    });
    this.#evict(this.#pools, (p) => p.close());
    this.#pools.set(key, pool);
    this.#byEndpoint.set(ep, pool);
    if (this.#sweeper === undefined && !this.#closed) {
      const idleMs = this.#o.idleTimeoutMs ?? 60_000;
      this.#sweeper = setInterval(
        () => {
          const cutoff = Date.now() - idleMs;
          for (const p of this.#pools.values()) p.sweep(cutoff);
        },
        Math.max(50, Math.floor(idleMs / 4)),
      );
      this.#sweeper.unref();
    }
    return pool;
  }

  /** A keep-alive HTTP/1.1 agent whose connections come from the connector. */
  agent(ep: Endpoint): Agent {
    const key = keyOf(ep);
    let agent = this.#agents.get(key);
    if (agent !== undefined) return agent;
    const options: AgentOptions = {
      keepAlive: true,
      maxSockets: this.#o.maxSocketsPerEndpoint ?? 256,
      maxFreeSockets: 64,
      timeout: this.#o.idleTimeoutMs ?? 60_000,
      scheduling: 'lifo',
    };
    agent = new Agent(options);
    const connector = this.#o.connector;
    const create: CreateConnection = (_options, cb) => {
      connector.connect(ep).then(
        (s) => cb(null, s),
        (err: Error) => cb(err),
      );
      return undefined;
    };
    (agent as unknown as { createConnection: CreateConnection }).createConnection = create;
    this.#evict(this.#agents, (a) => a.destroy());
    this.#agents.set(key, agent);
    return agent;
  }

  /** The shared HTTP/2 session to an endpoint (made on first use; replaced when it closes). */
  session(ep: Endpoint): Promise<ClientHttp2Session> {
    const key = keyOf(ep);
    const existing = this.#sessions.get(key);
    if (existing !== undefined) return existing;
    const p = this.#o.connector.connect(ep).then((stream) => {
      const session = h2connect(`http://${key}`, {
        createConnection: () => stream,
        settings: { initialWindowSize: 4 * 1024 * 1024, enablePush: false },
        maxSessionMemory: 64,
      });
      session.setLocalWindowSize?.(16 * 1024 * 1024);
      const forget = (): void => {
        if (this.#sessions.get(key) === p) this.#sessions.delete(key);
      };
      session.on('error', forget);
      session.once('goaway', forget);
      session.once('close', forget);
      if (this.#closed) session.destroy();
      return session;
    });
    p.catch(() => {
      if (this.#sessions.get(key) === p) this.#sessions.delete(key);
    });
    this.#evict(this.#sessions, (s) => {
      s.then(
        (x) => x.close(),
        () => {},
      );
    });
    this.#sessions.set(key, p);
    return p;
  }

  #evict<T>(map: Map<string, T>, dispose: (v: T) => void): void {
    const max = this.#o.maxEndpoints ?? 4096;
    if (map.size < max) return;
    const first = map.entries().next();
    if (first.done === true) return;
    map.delete(first.value[0]);
    dispose(first.value[1]);
  }

  stats(): { h1Endpoints: number; h2Sessions: number } {
    return { h1Endpoints: this.#agents.size + this.#pools.size, h2Sessions: this.#sessions.size };
  }

  close(): void {
    this.#closed = true;
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    for (const p of this.#pools.values()) p.close();
    this.#pools.clear();
    for (const a of this.#agents.values()) a.destroy();
    for (const s of this.#sessions.values())
      s.then(
        (x) => x.destroy(),
        () => {},
      );
    this.#agents.clear();
    this.#sessions.clear();
  }
}
