/**
 * Delta ADS client (what ztunnel does): one bidirectional stream, wildcard subscriptions by type URL,
 * ACK/NACK per response, reconnect with backoff 10 ms → 15 s sending initial_resource_versions, and a
 * store that survives reconnects so the last state keeps serving while pilot is down.
 */
import * as grpc from '@grpc/grpc-js';
import { errorMessage, type Logger, silentLogger } from '@weft/telemetry';
import { decodeAddress, decodeAuthorization, decodeConfig } from './convert.js';
import { XdsDecodeError } from './errors.js';
import {
  type AggregatedDiscoveryServiceClient,
  AggregatedDiscoveryServiceService,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
} from './gen/envoy/service/discovery/v3/discovery.js';
import { type DecodedResource, type StoreUpsert, XdsStore } from './store.js';
import { NODE_META, TYPE_ADDRESS, TYPE_AUTHORIZATION, TYPE_CONFIG, type XdsRole } from './types.js';
import { decodeDeltaResponse } from './wire.js';

/** The generated ADS client, with the envelope decoder that does not copy resource bodies (wire.ts). */
const AdsClient = grpc.makeGenericClientConstructor(
  {
    deltaAggregatedResources: {
      ...AggregatedDiscoveryServiceService.deltaAggregatedResources,
      responseDeserialize: (value: Buffer): DeltaDiscoveryResponse => decodeDeltaResponse(value),
    },
  },
  'envoy.service.discovery.v3.AggregatedDiscoveryService',
) as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: Partial<grpc.ClientOptions>,
) => AggregatedDiscoveryServiceClient;

export interface XdsClientTls {
  /** Trust anchors for pilot's serving certificate (PEM). */
  ca: string | Buffer;
  /** Client certificate chain and key (PEM), when the server asks for one. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The name pilot's certificate carries, when it differs from the address host. */
  servername?: string;
}

export interface XdsClientOptions {
  /** host:port of pilot (15010 plaintext, 15012 TLS). */
  address: string;
  /** Omit for plaintext (the trusted local setup). */
  tls?: XdsClientTls;
  /** Sent as `authorization: Bearer <token>` on each stream; read on every (re)connect. */
  token?: () => string | undefined;
  node: {
    id: string;
    nodeName: string;
    role: XdsRole;
    namespace?: string;
    metadata?: Record<string, string>;
  };
  /** Type URLs to subscribe to; by default what the role needs. */
  types?: readonly string[];
  /** Extra acceptance check; a returned message NACKs the whole response. */
  validate?: (resource: DecodedResource, name: string) => string | undefined;
  logger?: Logger;
  backoff?: { initialMs?: number; maxMs?: number };
  /** Pass a store to keep state across client instances (tests; restarts inside one process). */
  store?: XdsStore;
}

export interface XdsClientStats {
  connects: number;
  responses: number;
  acks: number;
  nacks: number;
  lastNack?: string;
}

/** What each role subscribes to by default: node agents need addresses and L4 policies only. */
export function defaultTypes(role: XdsRole): string[] {
  return role === 'node'
    ? [TYPE_ADDRESS, TYPE_AUTHORIZATION]
    : [TYPE_ADDRESS, TYPE_AUTHORIZATION, TYPE_CONFIG];
}

const MAX_MESSAGE = 200 * 1024 * 1024;
const FLOW_CONTROL_WINDOW = 16 * 1024 * 1024;

export class XdsClient {
  readonly store: XdsStore;
  readonly stats: XdsClientStats = { connects: 0, responses: 0, acks: 0, nacks: 0 };
  readonly #options: XdsClientOptions;
  readonly #types: readonly string[];
  readonly #logger: Logger;
  readonly #received = new Set<string>();
  readonly #syncWaiters: (() => void)[] = [];
  readonly #statusListeners = new Set<(status: { connected: boolean; synced: boolean }) => void>();
  #grpc: grpc.Client | undefined;
  #stream: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> | undefined;
  #connected = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #delayMs: number;

  constructor(options: XdsClientOptions) {
    this.#options = options;
    this.#types = options.types ?? defaultTypes(options.node.role);
    this.#logger = options.logger ?? silentLogger();
    this.store = options.store ?? new XdsStore();
    this.#delayMs = options.backoff?.initialMs ?? 10;
  }

  /** True once every subscribed type has been received at least once (stays true across reconnects). */
  get synced(): boolean {
    return this.#types.every((t) => this.#received.has(t));
  }

  get connected(): boolean {
    return this.#connected;
  }

  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  onStatus(listener: (status: { connected: boolean; synced: boolean }) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  start(): void {
    if (this.#grpc !== undefined || this.#closed) return;
    const tls = this.#options.tls;
    const credentials =
      tls === undefined
        ? grpc.credentials.createInsecure()
        : grpc.credentials.createSsl(
            Buffer.from(tls.ca),
            tls.key === undefined ? null : Buffer.from(tls.key),
            tls.cert === undefined ? null : Buffer.from(tls.cert),
          );
    const channelOptions: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': MAX_MESSAGE,
      'grpc.max_send_message_length': MAX_MESSAGE,
      // HTTP/2 flow-control window (stream and connection). Node's default of 64 KiB makes a multi-megabyte full
      // sync wait for a WINDOW_UPDATE round trip every 64 KiB, each needing this process's event loop (busy
      // decoding): Envoy opens its xDS windows far wider for the same reason. Responses are whole messages we
      // buffer anyway (bounded by max_receive_message_length).
      'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW,
      'grpc.keepalive_time_ms': 30_000,
      // Our own reconnect loop owns backoff; keep the channel's short so it does not add to ours.
      'grpc.initial_reconnect_backoff_ms': 10,
      'grpc.max_reconnect_backoff_ms': 1000,
    };
    if (tls?.servername !== undefined) channelOptions['grpc.ssl_target_name_override'] = tls.servername;
    this.#grpc = new AdsClient(this.#options.address, credentials, channelOptions);
    this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#stream?.cancel();
    this.#stream = undefined;
    this.#grpc?.close();
    this.#setConnected(false);
  }

  #connect(): void {
    const client = this.#grpc as AggregatedDiscoveryServiceClient | undefined;
    if (client === undefined || this.#closed) return;
    const metadata = new grpc.Metadata();
    const token = this.#options.token?.();
    if (token !== undefined && token !== '') metadata.set('authorization', `Bearer ${token}`);
    const stream = client.deltaAggregatedResources(metadata);
    this.#stream = stream;
    this.stats.connects++;
    let first = true;
    for (const typeUrl of this.#types) {
      const request: DeltaDiscoveryRequest = {
        typeUrl,
        resourceNamesSubscribe: ['*'],
        resourceNamesUnsubscribe: [],
        initialResourceVersions: this.store.versions(typeUrl),
        responseNonce: '',
        node: first ? this.#nodeMessage() : undefined,
        errorDetail: undefined,
      };
      first = false;
      stream.write(request);
    }
    stream.on('data', (response: DeltaDiscoveryResponse) => {
      if (this.#stream !== stream) return;
      this.#setConnected(true);
      this.#delayMs = this.#options.backoff?.initialMs ?? 10;
      this.#onResponse(stream, response);
    });
    const onGone = (err?: Error) => {
      if (this.#stream !== stream) return;
      this.#stream = undefined;
      this.#setConnected(false);
      if (this.#closed) return;
      this.#logger.warn(
        { err: err === undefined ? 'stream ended' : errorMessage(err), retryMs: this.#delayMs },
        'xds stream lost; keeping the last state and reconnecting',
      );
      this.#scheduleReconnect();
    };
    stream.on('error', (err: Error) => onGone(err));
    stream.on('end', () => onGone());
  }

  #scheduleReconnect(): void {
    const max = this.#options.backoff?.maxMs ?? 15_000;
    const delay = this.#delayMs;
    this.#delayMs = Math.min(max, Math.max(1, this.#delayMs * 2));
    // Jitter: up to +25%, so agents do not reconnect in lockstep after a pilot restart.
    this.#timer = setTimeout(() => this.#connect(), delay + Math.floor(Math.random() * delay * 0.25));
  }

  #nodeMessage() {
    const n = this.#options.node;
    return {
      id: n.id,
      cluster: '',
      metadata: {
        ...n.metadata,
        [NODE_META.nodeName]: n.nodeName,
        [NODE_META.role]: n.role,
        [NODE_META.namespace]: n.namespace ?? '',
      },
      locality: undefined,
      userAgentName: 'weft',
    };
  }

  #onResponse(
    stream: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>,
    response: DeltaDiscoveryResponse,
  ): void {
    this.stats.responses++;
    const { typeUrl, nonce } = response;
    const ack: DeltaDiscoveryRequest = {
      typeUrl,
      resourceNamesSubscribe: [],
      resourceNamesUnsubscribe: [],
      initialResourceVersions: {},
      responseNonce: nonce,
      node: undefined,
      errorDetail: undefined,
    };
    let upserts: StoreUpsert[];
    try {
      upserts = this.#decode(response);
    } catch (err) {
      const message = errorMessage(err);
      this.stats.nacks++;
      this.stats.lastNack = message;
      this.#logger.warn(
        { typeUrl, nonce, err: message },
        'rejecting xds response (NACK); keeping the previous state',
      );
      stream.write({ ...ack, errorDetail: { code: 3, message, details: [] } });
      return;
    }
    this.store.apply(typeUrl, upserts, response.removedResources);
    this.stats.acks++;
    stream.write(ack);
    if (!this.#received.has(typeUrl)) {
      this.#received.add(typeUrl);
      if (this.synced) {
        this.#logger.info({ types: this.#types }, 'xds synced');
        for (const resolve of this.#syncWaiters.splice(0)) resolve();
        this.#emitStatus();
      }
    }
  }

  #decode(response: DeltaDiscoveryResponse): StoreUpsert[] {
    const { typeUrl } = response;
    if (!this.#types.includes(typeUrl)) throw new XdsDecodeError(`not subscribed to ${typeUrl}`);
    const out: StoreUpsert[] = [];
    for (const r of response.resources) {
      const any = r.resource;
      if (any === undefined) throw new XdsDecodeError(`resource ${r.name} has no body`);
      if (any.typeUrl !== typeUrl)
        throw new XdsDecodeError(`resource ${r.name} is a ${any.typeUrl}, not a ${typeUrl}`);
      const resource = decodeResource(typeUrl, any.value);
      const problem = this.#options.validate?.(resource, r.name);
      if (problem !== undefined) throw new XdsDecodeError(`resource ${r.name}: ${problem}`);
      out.push({ name: r.name, version: r.version, resource });
    }
    return out;
  }

  #setConnected(connected: boolean): void {
    if (this.#connected === connected) return;
    this.#connected = connected;
    this.#emitStatus();
  }

  #emitStatus(): void {
    const status = { connected: this.#connected, synced: this.synced };
    for (const l of this.#statusListeners) l(status);
  }
}

export function decodeResource(typeUrl: string, body: Uint8Array): DecodedResource {
  switch (typeUrl) {
    case TYPE_ADDRESS:
      return { typeUrl, value: decodeAddress(body) };
    case TYPE_AUTHORIZATION:
      return { typeUrl, value: decodeAuthorization(body) };
    case TYPE_CONFIG:
      return { typeUrl, value: decodeConfig(body) };
    default:
      throw new XdsDecodeError(`unknown type ${typeUrl}`);
  }
}
