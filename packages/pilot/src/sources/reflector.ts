/**
 * A Kubernetes reflector for one resource: LIST (records the list's resourceVersion), then WATCH from it with
 * allowWatchBookmarks, moving the resourceVersion forward on every event and bookmark; a 410 Gone (as an
 * HTTP status or an ERROR event) clears it and relists; any other failure retries with backoff from the
 * last resourceVersion. The watch stream is @kubernetes/client-node's Watch (its auth, TLS and chunked
 * JSON handling); the list is a plain GET with the same KubeConfig credentials.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { type KubeConfig, Watch } from '@kubernetes/client-node';
import { errorMessage, type Logger, silentLogger } from '@weft/telemetry';

export interface ResourceType {
  /** e.g. `/api/v1/pods`, `/apis/security.istio.io/v1/authorizationpolicies` (all namespaces). */
  readonly path: string;
  readonly apiVersion: string;
  readonly kind: string;
  /** A CRD that may not be installed: a 404 counts as an empty, synced list (retried slowly). */
  readonly optional?: boolean;
}

export type KubeItem = Record<string, unknown> & {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
};

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
    const body = await this.#get(this.type.path);
    const list = JSON.parse(body) as { metadata?: { resourceVersion?: string }; items?: KubeItem[] };
    // List items carry no apiVersion/kind; put them back so objects look like what kubectl prints.
    const items = (list.items ?? []).map((i) => ({
      apiVersion: this.type.apiVersion,
      kind: this.type.kind,
      ...i,
    }));
    this.stats.lists++;
    this.#resourceVersion = list.metadata?.resourceVersion ?? '';
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

  async #get(path: string): Promise<string> {
    const cluster = this.kc.getCurrentCluster();
    if (cluster === null) throw new Error('kubeconfig has no current cluster');
    const url = new URL(path, cluster.server);
    const options: RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(options);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { ...options, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 200) resolve(text);
          else
            reject(
              Object.assign(new Error(`GET ${path}: HTTP ${res.statusCode} ${text.slice(0, 200)}`), {
                statusCode: res.statusCode,
              }),
            );
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${path}: timed out`)));
      req.on('error', reject);
      req.end();
    });
  }
}

export { keyOf as reflectorKey };
