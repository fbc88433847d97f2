/**
 * A Kubernetes reflector for one resource: LIST (records the list's resourceVersion), then WATCH from it with
 * allowWatchBookmarks, moving the resourceVersion forward on every event and bookmark; a 410 Gone (as an
 * HTTP status or an ERROR event) clears it and relists; any other failure retries with backoff from the
 * last resourceVersion. The watch stream is @kubernetes/client-node's Watch (its auth, TLS and chunked
 * JSON handling); the list is @weft/config's kubeList with the same KubeConfig credentials.
 */
import { type KubeConfig, Watch } from '@kubernetes/client-node';
import { type KubeItem, type KubeResource, kubeList } from '@weft/config';
import { errorMessage, type Logger, silentLogger } from '@weft/telemetry';

/** A collection to reflect; a 404 on an `optional` one counts as an empty, synced list (retried slowly). */
export type ResourceType = KubeResource;

export type { KubeItem };

export interface ReflectorEvents {
  /** The full set after a (re)list. */
  replace(items: KubeItem[]): void;
  upsert(item: KubeItem): void;
  remove(item: KubeItem): void;
}

export interface ReflectorStats {
  lists: number;
  watches: number;
  bookmarks: number;
  gone: number;
  errors: number;
}

function keyOf(item: KubeItem): string {
  return `${item.metadata?.namespace ?? ''}/${item.metadata?.name ?? ''}`;
}

export class Reflector {
  readonly stats: ReflectorStats = { lists: 0, watches: 0, bookmarks: 0, gone: 0, errors: 0 };
  #resourceVersion = '';
  #stopped = false;
  #abort: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #backoffMs = 100;
  #synced: Promise<void>;
  #resolveSynced!: () => void;
  readonly #watch: Watch;
  readonly #logger: Logger;

  constructor(
    private readonly kc: KubeConfig,
    readonly type: ResourceType,
    private readonly events: ReflectorEvents,
    logger?: Logger,
    private readonly maxBackoffMs = 15_000,
  ) {
    this.#watch = new Watch(kc);
    this.#logger = logger ?? silentLogger();
    this.#synced = new Promise((resolve) => {
      this.#resolveSynced = resolve;
    });
  }

  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** Starts the loop; resolves after the first successful list. */
  start(): Promise<void> {
    void this.#run();
    return this.#synced;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort?.abort();
  }

  async #run(): Promise<void> {
    if (this.#stopped) return;
    try {
      if (this.#resourceVersion === '') await this.#list();
      await this.#watchOnce();
      this.#backoffMs = 100;
      if (!this.#stopped) void this.#run();
    } catch (err) {
      if (this.#stopped) return;
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 410) {
        this.stats.gone++;
        this.#resourceVersion = '';
        this.#logger.info({ resource: this.type.kind }, 'watch expired (410 Gone); relisting');
        void this.#run();
        return;
      }
      this.stats.errors++;
      if (status === 404 && this.type.optional === true && this.#resourceVersion === '') {
        this.events.replace([]);
        this.#resolveSynced();
        this.#backoffMs = this.maxBackoffMs;
      }
      const delay = this.#backoffMs;
      this.#backoffMs = Math.min(this.maxBackoffMs, this.#backoffMs * 2);
      this.#logger.warn(
        { resource: this.type.kind, err: errorMessage(err), retryMs: delay },
        'kubernetes list/watch failed',
      );
      this.#timer = setTimeout(() => void this.#run(), delay);
    }
  }

  async #list(): Promise<void> {
    const { items, resourceVersion } = await kubeList(this.kc, this.type);
    this.stats.lists++;
    this.#resourceVersion = resourceVersion;
    this.events.replace(items);
    this.#resolveSynced();
  }

  #watchOnce(): Promise<void> {
    this.stats.watches++;
    return new Promise((resolve, reject) => {
      let gone = false;
      const onEvent = (phase: string, obj: KubeItem) => {
        if (phase === 'ERROR') {
          if ((obj as { code?: number }).code === 410) gone = true;
          return;
        }
        const rv = obj.metadata?.resourceVersion;
        if (phase === 'BOOKMARK') this.stats.bookmarks++;
        else {
          const item = { apiVersion: this.type.apiVersion, kind: this.type.kind, ...obj };
          if (phase === 'DELETED') this.events.remove(item);
          else this.events.upsert(item);
        }
        if (rv !== undefined && rv !== '') this.#resourceVersion = rv;
      };
      const onDone = (err: unknown) => {
        this.#abort = undefined;
        if (gone) reject(Object.assign(new Error('resource version too old'), { statusCode: 410 }));
        else if (err !== null && err !== undefined && !(err instanceof Error && err.name === 'AbortError'))
          reject(err);
        else resolve();
      };
      this.#watch
        .watch(
          this.type.path,
          {
            resourceVersion: this.#resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: 300 + Math.floor(Math.random() * 300),
          },
          onEvent,
          onDone,
        )
        .then((abort) => {
          this.#abort = abort;
          if (this.#stopped) abort.abort();
        }, reject);
    });
  }
}

export { keyOf as reflectorKey };
