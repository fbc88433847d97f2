import type { ClientReadableStream } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { errorMessage, type Logger, silentLogger } from '@weft/telemetry';
import { type TrustBundleMessage, TrustBundleServiceClient } from '@weft/xds';
import { type Clock, systemClock } from './clock.js';
import { channelCredentials, channelOptions, type PilotConnection } from './grpc-tls.js';
import type { TrustBundle } from './trust-bundle.js';

export interface TrustBundleWatcherOptions extends PilotConnection {
  bundle: TrustBundle;
  clock?: Clock;
  logger?: Logger;
  /** Reconnect delays: doubling from 500 ms up to 30 s. */
  backoff?: { initialMs?: number; maxMs?: number };
}

/**
 * Follows pilot's `weft.ca.v1.TrustBundleService/WatchTrustBundle` stream and applies each bundle to
 * `bundle`. When pilot is unreachable the last bundle stays in force and the watcher reconnects.
 */
export class TrustBundleWatcher {
  readonly #o: TrustBundleWatcherOptions;
  readonly #logger: Logger;
  readonly #clock: Clock;
  #client: TrustBundleServiceClient | undefined;
  #call: ClientReadableStream<TrustBundleMessage> | undefined;
  #cancelRetry: (() => void) | undefined;
  #failures = 0;
  #stopped = true;
  #firstResolve: (() => void) | undefined;
  /** Resolves when the first bundle from pilot was applied. */
  readonly ready: Promise<void>;

  constructor(options: TrustBundleWatcherOptions) {
    this.#o = options;
    this.#logger = (options.logger ?? silentLogger()).child({ component: 'trust-bundle' });
    this.#clock = options.clock ?? systemClock;
    this.ready = new Promise((resolve) => {
      this.#firstResolve = resolve;
    });
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    this.#cancelRetry?.();
    this.#call?.cancel();
    this.#call = undefined;
    this.#client?.close();
    this.#client = undefined;
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    this.#client?.close();
    this.#client = new TrustBundleServiceClient(
      this.#o.address,
      channelCredentials(this.#o),
      channelOptions(this.#o),
    );
    const md = new Metadata();
    const token = await this.#o.token?.();
    if (token !== undefined && token !== '') md.set('authorization', `Bearer ${token}`);
    md.set('clusterid', this.#o.clusterId ?? 'Kubernetes');
    if (this.#stopped) return;
    const call = this.#client.watchTrustBundle({ knownVersion: this.#o.bundle.version }, md);
    this.#call = call;
    call.on('data', (msg: TrustBundleMessage) => {
      this.#failures = 0;
      try {
        const changed = this.#o.bundle.update(msg.rootCerts, msg.version);
        this.#logger.info(
          { version: msg.version, roots: msg.rootCerts.length, changed },
          'trust bundle received',
        );
        this.#firstResolve?.();
        this.#firstResolve = undefined;
      } catch (err) {
        this.#logger.error(
          { err: errorMessage(err) },
          'pilot sent an unusable trust bundle; keeping the current one',
        );
      }
    });
    call.on('error', (err) => {
      if (this.#call !== call) return;
      this.#logger.warn({ err: errorMessage(err) }, 'trust bundle stream failed; keeping the last bundle');
      this.#retry();
    });
    call.on('end', () => {
      if (this.#call === call && !this.#stopped) this.#retry();
    });
  }

  #retry(): void {
    this.#call = undefined;
    if (this.#stopped) return;
    this.#failures++;
    const initial = this.#o.backoff?.initialMs ?? 500;
    const max = this.#o.backoff?.maxMs ?? 30_000;
    const delay = Math.min(max, initial * 2 ** (this.#failures - 1));
    this.#cancelRetry?.();
    this.#cancelRetry = this.#clock.schedule(() => void this.#connect(), delay);
  }
}
