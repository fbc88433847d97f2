/**
 * Delta ADS server. The owner replaces the full set of one type with `setResources`; the server diffs it
 * against what each connected client holds and pushes only the difference. A client NACK is counted and
 * logged, the rejected resources are forgotten for that client (resent on their next change), and pushes
 * to everyone else continue.
 */
import * as grpc from '@grpc/grpc-js';
import {
  counter,
  errorMessage,
  gauge,
  histogram,
  type Logger,
  type Registry,
  silentLogger,
} from '@weft/telemetry';
import { XdsProtocolError } from './errors.js';
import {
  AggregatedDiscoveryServiceService,
  type DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
} from './gen/envoy/service/discovery/v3/discovery.js';
import { PushQueue } from './push-queue.js';
import { NODE_META, parseRole, type XdsNodeInfo } from './types.js';
import { deltaResponse, type EncodedOrMessage, resourceEntry } from './wire.js';

/** One resource body as served: `version` changes whenever `body` does. */
export interface ServerResource {
  readonly version: string;
  /** The encoded message (google.protobuf.Any.value). */
  readonly body: Uint8Array;
  /** What filters look at (e.g. { kind: 'Secret' }); never sent. */
  readonly meta?: Readonly<Record<string, string>>;
}

export interface ConnectedClient {
  readonly connectionId: string;
  readonly node: XdsNodeInfo;
  readonly peer: string;
  /** Whatever `authenticate` returned (an identity), if set. */
  readonly principal: unknown;
}

export interface XdsServerOptions {
  logger?: Logger;
  registry?: Registry;
  /**
   * Decides whether a stream may connect: throw (or reject) to refuse it with UNAUTHENTICATED. Gets the
   * call metadata (authorization: Bearer …) and, on TLS, the peer certificate.
   */
  authenticate?: (ctx: {
    metadata: grpc.Metadata;
    peer: string;
    peerCertificate: unknown;
  }) => unknown | Promise<unknown>;
  /** Whether `client` should receive a resource; default everything. */
  filter?: (client: ConnectedClient, typeUrl: string, name: string, resource: ServerResource) => boolean;
  /** Sent as control_plane.identifier. */
  controlPlaneId?: string;
}

type Stream = grpc.ServerDuplexStream<DeltaDiscoveryRequest, EncodedOrMessage>;

/** ADS as generated, except that responses may be written as bytes already encoded (see wire.ts). */
const ADS_SERVICE = {
  deltaAggregatedResources: {
    ...AggregatedDiscoveryServiceService.deltaAggregatedResources,
    responseSerialize: (value: EncodedOrMessage): Buffer =>
      Buffer.isBuffer(value) ? value : Buffer.from(DeltaDiscoveryResponse.encode(value).finish()),
  },
} as const;

/** Each resource's encoded response entry, made on first send and shared by every client and push. */
const entries = new WeakMap<ServerResource, { typeUrl: string; name: string; bytes: Buffer }>();

function entryOf(typeUrl: string, name: string, r: ServerResource): Buffer {
  const hit = entries.get(r);
  if (hit !== undefined && hit.name === name && hit.typeUrl === typeUrl) return hit.bytes;
  const bytes = resourceEntry(typeUrl, name, r.version, r.body);
  entries.set(r, { typeUrl, name, bytes });
  return bytes;
}

interface TypeState {
  /** Name → version the client holds (as far as we know). */
  readonly known: Map<string, string>;
  /** nonce → the names a response carried and the version each replaced (undefined when new), to undo on NACK. */
  readonly inflight: Map<string, Undo>;
  /** Source-change timestamp of the first push not yet ACKed, for convergence time. */
}

interface Undo {
  readonly names: string[];
  readonly before: (string | undefined)[];
}

interface Connection extends ConnectedClient {
  readonly stream: Stream;
  readonly types: Map<string, TypeState>;
  nonce: number;
  acks: number;
  nacks: number;
  lastNack?: string;
  readonly connectedAt: number;
}

export interface XdsClientSnapshot {
  connectionId: string;
  node: XdsNodeInfo;
  peer: string;
  types: Record<string, number>;
  acks: number;
  nacks: number;
  lastNack?: string;
  connectedAt: string;
}

const MAX_MESSAGE = 200 * 1024 * 1024;
const MAX_INFLIGHT = 64;

export class XdsServer {
  readonly #resources = new Map<string, Map<string, ServerResource>>();
  readonly #connections = new Set<Connection>();
  readonly #logger: Logger;
  readonly #options: XdsServerOptions;
  readonly #metrics;
  #nextConnection = 0;
  #systemVersion = 0;
  #grpcServer: grpc.Server | undefined;
  readonly #ackWaiters = new Set<() => void>();
  readonly #queue = new PushQueue<Connection>(
    (c, typeUrl, names) => {
      const state = c.types.get(typeUrl);
      if (state !== undefined && this.#connections.has(c)) this.#push(c, typeUrl, state, names);
    },
    () => {
      for (const w of this.#ackWaiters) w();
    },
    (c, err) =>
      this.#logger.warn({ id: c.node.id, conn: c.connectionId, err: errorMessage(err) }, 'xds push failed'),
  );

  constructor(options: XdsServerOptions = {}) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger();
    const registry = options.registry;
    this.#metrics =
      registry === undefined
        ? undefined
        : {
            connected: gauge(
              registry,
              'pilot_xds',
              'Number of endpoints connected to this pilot using xDS.',
              [],
            ),
            pushes: counter(
              registry,
              'pilot_xds_pushes',
              'Pilot build and send errors for lds, rds, cds and eds.',
              ['type'],
            ),
            rejects: counter(
              registry,
              'pilot_total_xds_rejects',
              'Total number of xDS responses rejected by proxy.',
              ['type'],
            ),
            pushTime: histogram(
              registry,
              'pilot_xds_push_time',
              'Total time in seconds Pilot takes to push lds, rds, cds and eds.',
              ['type'],
              [0.001, 0.01, 0.1, 1, 3, 5, 10, 20, 30],
            ),
          };
  }

  /** The implementation to add to a grpc.Server (to share one with the CA service). */
  get service(): grpc.UntypedServiceImplementation {
    return { deltaAggregatedResources: (stream: Stream) => void this.#accept(stream) };
  }

  addTo(server: grpc.Server): void {
    server.addService(ADS_SERVICE, this.service);
  }

  /** Starts a dedicated gRPC server; returns the bound port. */
  async listen(options: {
    port: number;
    host?: string;
    tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer; requireClientCert?: boolean };
  }): Promise<number> {
    const server = new grpc.Server({
      'grpc.max_receive_message_length': MAX_MESSAGE,
      'grpc.max_send_message_length': MAX_MESSAGE,
    });
    this.addTo(server);
    const tls = options.tls;
    const credentials =
      tls === undefined
        ? grpc.ServerCredentials.createInsecure()
        : grpc.ServerCredentials.createSsl(
            tls.ca === undefined ? null : Buffer.from(tls.ca),
            [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }],
            tls.requireClientCert === true,
          );
    const host = options.host ?? '0.0.0.0';
    const target = host.includes(':') ? `[${host}]:${options.port}` : `${host}:${options.port}`;
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(target, credentials, (err, bound) => (err === null ? resolve(bound) : reject(err))),
    );
    this.#grpcServer = server;
    return port;
  }

  /** Ends every stream and stops the dedicated server (if any). */
  async close(): Promise<void> {
    for (const c of this.#connections) c.stream.end();
    this.#connections.clear();
    this.#queue.clear();
    this.#metrics?.connected.set(0);
    const server = this.#grpcServer;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 1000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Replaces every resource of `typeUrl` and pushes the differences to subscribed clients (queued: one
   * client per event-loop turn, see push-queue.ts).
   */
  setResources(typeUrl: string, resources: ReadonlyMap<string, ServerResource>): void {
    const previous = this.#resources.get(typeUrl) ?? new Map<string, ServerResource>();
    const changed: string[] = [];
    const removed: string[] = [];
    for (const [name, r] of resources) if (previous.get(name)?.version !== r.version) changed.push(name);
    for (const name of previous.keys()) if (!resources.has(name)) removed.push(name);
    const next = new Map(resources);
    this.#resources.set(typeUrl, next);
    if (changed.length === 0 && removed.length === 0) return;
    this.#systemVersion++;
    const names = [...changed, ...removed];
    for (const c of this.#connections) if (c.types.has(typeUrl)) this.#queue.add(c, typeUrl, names);
  }

  /**
   * Applies a difference to the resources of `typeUrl` (what `diffStates` computes) and pushes it to
   * subscribed clients: the same result as `setResources` with the full set, at the cost of the change.
   */
  updateResources(
    typeUrl: string,
    upserts: ReadonlyMap<string, ServerResource>,
    removed: readonly string[],
  ): void {
    let current = this.#resources.get(typeUrl);
    if (current === undefined) {
      current = new Map();
      this.#resources.set(typeUrl, current);
    }
    const names: string[] = [];
    for (const [name, r] of upserts) {
      if (current.get(name)?.version !== r.version) names.push(name);
      current.set(name, r);
    }
    for (const name of removed) if (current.delete(name)) names.push(name);
    if (names.length === 0) return;
    this.#systemVersion++;
    for (const c of this.#connections) if (c.types.has(typeUrl)) this.#queue.add(c, typeUrl, names);
  }

  /** Every resource name and version of a type (for /config_dump and tests). */
  resources(typeUrl: string): ReadonlyMap<string, ServerResource> {
    return this.#resources.get(typeUrl) ?? new Map();
  }

  clients(): XdsClientSnapshot[] {
    return [...this.#connections].map((c) => ({
      connectionId: c.connectionId,
      node: c.node,
      peer: c.peer,
      types: Object.fromEntries([...c.types].map(([t, s]) => [t, s.known.size])),
      acks: c.acks,
      nacks: c.nacks,
      ...(c.lastNack === undefined ? {} : { lastNack: c.lastNack }),
      connectedAt: new Date(c.connectedAt).toISOString(),
    }));
  }

  /** Resolves once every queued push has been written to its client (not necessarily ACKed). */
  whenSent(): Promise<void> {
    return this.#queue.whenSent();
  }

  /** True when nothing waits to be sent and every client has ACKed or NACKed everything sent to it. */
  get quiescent(): boolean {
    if (this.#queue.size > 0) return false;
    for (const c of this.#connections)
      for (const s of c.types.values()) if (s.inflight.size > 0) return false;
    return true;
  }

  /** Resolves once `quiescent` (after the next ACK that makes it so). */
  whenQuiescent(): Promise<void> {
    if (this.quiescent) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.quiescent) {
          this.#ackWaiters.delete(check);
          resolve();
        }
      };
      this.#ackWaiters.add(check);
    });
  }

  async #accept(stream: Stream): Promise<void> {
    const peer = stream.getPeer();
    let principal: unknown;
    try {
      const peerCertificate = stream.getAuthContext?.()?.sslPeerCertificate;
      principal = await this.#options.authenticate?.({ metadata: stream.metadata, peer, peerCertificate });
    } catch (err) {
      const e = new XdsProtocolError('WEFT_XDS_UNAUTHENTICATED', `xDS client refused: ${errorMessage(err)}`);
      this.#logger.warn({ peer, code: e.code, err: errorMessage(err) }, 'refusing xds stream');
      stream.emit('error', { code: grpc.status.UNAUTHENTICATED, details: e.message });
      return;
    }
    let connection: Connection | undefined;
    stream.on('data', (request: DeltaDiscoveryRequest) => {
      try {
        if (connection === undefined) {
          connection = this.#open(stream, request, peer, principal);
        }
        this.#onRequest(connection, request);
      } catch (err) {
        this.#logger.warn({ peer, err: errorMessage(err) }, 'bad xds request; closing the stream');
        stream.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: errorMessage(err) });
      }
    });
    const done = () => {
      if (connection !== undefined && this.#connections.delete(connection)) {
        this.#queue.delete(connection);
        this.#metrics?.connected.set(this.#connections.size);
        this.#logger.info(
          { id: connection.node.id, conn: connection.connectionId },
          'xds client disconnected',
        );
        for (const w of this.#ackWaiters) w();
      }
    };
    stream.on('end', () => {
      done();
      stream.end();
    });
    stream.on('error', done);
    stream.on('close', done);
    stream.on('cancelled', done);
  }

  #open(stream: Stream, first: DeltaDiscoveryRequest, peer: string, principal: unknown): Connection {
    const meta = (first.node?.metadata ?? {}) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' ? v : '');
    const node: XdsNodeInfo = {
      id: first.node?.id ?? '',
      nodeName: str(meta[NODE_META.nodeName]),
      role: parseRole(meta[NODE_META.role]),
      namespace: str(meta[NODE_META.namespace]),
      metadata: meta,
    };
    const connection: Connection = {
      connectionId: `${node.id || peer}-${++this.#nextConnection}`,
      node,
      peer,
      principal,
      stream,
      types: new Map(),
      nonce: 0,
      acks: 0,
      nacks: 0,
      connectedAt: Date.now(),
    };
    this.#connections.add(connection);
    this.#metrics?.connected.set(this.#connections.size);
    this.#logger.info({ id: node.id, node: node.nodeName, role: node.role, peer }, 'xds client connected');
    return connection;
  }

  #onRequest(c: Connection, request: DeltaDiscoveryRequest): void {
    const { typeUrl } = request;
    if (typeUrl === '')
      throw new XdsProtocolError('WEFT_XDS_BAD_REQUEST', 'DeltaDiscoveryRequest without type_url');
    let state = c.types.get(typeUrl);
    if (request.responseNonce !== '') {
      const inflight = state?.inflight.get(request.responseNonce);
      if (state !== undefined && inflight !== undefined) {
        state.inflight.delete(request.responseNonce);
        if (request.errorDetail !== undefined) {
          // The client kept its previous state: forget what this response carried so it is resent on change.
          for (let i = 0; i < inflight.names.length; i++) {
            const name = inflight.names[i] as string;
            const before = inflight.before[i];
            if (before === undefined) state.known.delete(name);
            else state.known.set(name, before);
          }
          c.nacks++;
          c.lastNack = request.errorDetail.message;
          this.#metrics?.rejects.inc({ type: shortType(typeUrl) });
          this.#logger.warn(
            { id: c.node.id, typeUrl, nonce: request.responseNonce, err: request.errorDetail.message },
            'xds client rejected a response (NACK)',
          );
        } else c.acks++;
        for (const w of this.#ackWaiters) w();
      }
    }
    const subscribe = request.resourceNamesSubscribe;
    const isFirst = state === undefined;
    if (
      state === undefined &&
      (subscribe.length === 0 || subscribe.includes('*') || request.responseNonce === '')
    ) {
      // Wildcard subscription (the only mode Weft serves): start from what the client says it has.
      state = { known: new Map(Object.entries(request.initialResourceVersions)), inflight: new Map() };
      c.types.set(typeUrl, state);
    }
    if (state === undefined) return;
    if (request.resourceNamesUnsubscribe.includes('*')) {
      c.types.delete(typeUrl);
      return;
    }
    if (isFirst) {
      const names = new Set([...(this.#resources.get(typeUrl)?.keys() ?? []), ...state.known.keys()]);
      // Always answer a new subscription, even with nothing, so the client can report "synced".
      this.#push(c, typeUrl, state, [...names], true);
    }
  }

  #push(c: Connection, typeUrl: string, state: TypeState, names: readonly string[], always = false): void {
    const started = performance.now();
    const current = this.#resources.get(typeUrl);
    const resources: Buffer[] = [];
    const removed: string[] = [];
    const undo: Undo = { names: [], before: [] };
    for (const name of names) {
      const r = current?.get(name);
      const held = state.known.get(name);
      const wanted = r !== undefined && (this.#options.filter?.(c, typeUrl, name, r) ?? true);
      if (wanted) {
        if (held === r.version) continue;
        resources.push(entryOf(typeUrl, name, r));
        undo.names.push(name);
        undo.before.push(held);
        state.known.set(name, r.version);
      } else if (held !== undefined) {
        removed.push(name);
        undo.names.push(name);
        undo.before.push(held);
        state.known.delete(name);
      }
    }
    if (resources.length === 0 && removed.length === 0 && !always) return;
    const nonce = `${++c.nonce}`;
    state.inflight.set(nonce, undo);
    // A client that never answers must not grow this without bound: forget the oldest unanswered pushes.
    if (state.inflight.size > MAX_INFLIGHT) {
      const oldest = state.inflight.keys().next().value;
      if (oldest !== undefined) state.inflight.delete(oldest);
    }
    c.stream.write(
      deltaResponse({
        systemVersionInfo: `${this.#systemVersion}`,
        typeUrl,
        nonce,
        entries: resources,
        removedResources: removed,
        controlPlaneId: this.#options.controlPlaneId ?? 'weft-pilot',
      }),
    );
    this.#metrics?.pushes.inc({ type: shortType(typeUrl) });
    this.#metrics?.pushTime.observe({ type: shortType(typeUrl) }, (performance.now() - started) / 1000);
  }
}

/** `type.googleapis.com/istio.workload.Address` → `istio.workload.Address` (metric label). */
function shortType(typeUrl: string): string {
  const slash = typeUrl.lastIndexOf('/');
  return slash === -1 ? typeUrl : typeUrl.slice(slash + 1);
}
