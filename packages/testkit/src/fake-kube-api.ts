/**
 * A small Kubernetes API server for tests, speaking the real list/watch protocol over HTTPS (its own test CA,
 * in the kubeconfig it hands out) so real client
 * code (@kubernetes/client-node) is what gets tested:
 * - LIST `GET /api/v1/pods`, `/api/v1/namespaces/<ns>/pods`, `/apis/<group>/<version>/<plural>` → a
 *   `<Kind>List` with metadata.resourceVersion (items without apiVersion/kind, as the API server sends them);
 * - WATCH `?watch=true&resourceVersion=N` → HTTP 200, chunked newline-delimited JSON events
 *   (ADDED/MODIFIED/DELETED) after N, then live events;
 * - a resourceVersion older than the retained history (see `compact()`) → `ERROR` event with a Status
 *   `code: 410, reason: Expired`, then the stream ends, as the API server does;
 * - `allowWatchBookmarks=true` → BOOKMARK events carrying the current resourceVersion (`bookmark()`, or
 *   every `bookmarkIntervalMs`);
 * - resourceVersions are one global increasing counter (etcd's revision).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TestCa } from './pki.js';

export interface FakeKubeResource {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

/** The kinds Weft reads; add others with `addResource`. */
export const FAKE_KUBE_RESOURCES: readonly FakeKubeResource[] = [
  { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  { apiVersion: 'v1', kind: 'Node', plural: 'nodes', namespaced: false },
  { apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespaced: true },
  { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true },
  { apiVersion: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', plural: 'endpointslices', namespaced: true },
  { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', plural: 'gateways', namespaced: true },
  { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', plural: 'httproutes', namespaced: true },
  { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', plural: 'gateways', namespaced: true },
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    plural: 'virtualservices',
    namespaced: true,
  },
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    plural: 'destinationrules',
    namespaced: true,
  },
  { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', plural: 'serviceentries', namespaced: true },
  {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    plural: 'authorizationpolicies',
    namespaced: true,
  },
  {
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    plural: 'peerauthentications',
    namespaced: true,
  },
  {
    apiVersion: 'security.istio.io/v1',
    kind: 'RequestAuthentication',
    plural: 'requestauthentications',
    namespaced: true,
  },
];

type KubeObj = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name: string; namespace?: string };
};

interface WatchEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObj;
}

interface Watcher {
  res: ServerResponse;
  resource: FakeKubeResource;
  namespace: string | undefined;
  bookmarks: boolean;
}

export interface FakeKubeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
}

export interface FakeKubeApiOptions {
  /** Send BOOKMARK events this often to watchers that asked for them (default: only on `bookmark()`). */
  bookmarkIntervalMs?: number;
  /** Events kept for watch resumption before older resourceVersions get 410 (default 1000). */
  historyLimit?: number;
}

export class FakeKubeApi {
  /** Every request received, for assertions (e.g. that a watch resumed from the right resourceVersion). */
  readonly requests: FakeKubeRequest[] = [];
  readonly #resources: FakeKubeResource[] = [...FAKE_KUBE_RESOURCES];
  /** `apiVersion/kind` → `namespace/name` → object. */
  readonly #objects = new Map<string, Map<string, KubeObj>>();
  readonly #history: WatchEvent[] = [];
  readonly #watchers = new Set<Watcher>();
  readonly #options: FakeKubeApiOptions;
  #rv = 100;
  /** Watches from a resourceVersion below this get 410 Gone. */
  #oldestRv = 100;
  #server: Server | undefined;
  #timer: NodeJS.Timeout | undefined;
  #port = 0;
  #caPem = '';

  constructor(options: FakeKubeApiOptions = {}) {
    this.#options = options;
  }

  static async start(options: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
    const api = new FakeKubeApi(options);
    await api.listen();
    return api;
  }

  async listen(port = 0): Promise<void> {
    const ca = await TestCa.create();
    const serving = await ca.issue({
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      usages: ['server'],
    });
    this.#caPem = ca.rootPem;
    const server = createServer({ cert: serving.chainPem, key: serving.keyPem }, (req, res) =>
      this.#handle(req, res),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: '127.0.0.1' }, () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    if (this.#options.bookmarkIntervalMs !== undefined) {
      this.#timer = setInterval(() => this.bookmark(), this.#options.bookmarkIntervalMs);
      this.#timer.unref();
    }
  }

  get url(): string {
    return `https://127.0.0.1:${this.#port}`;
  }

  /** The current resourceVersion (the last write). */
  /** The CA that signed the server's certificate (PEM). */
  get caPem(): string {
    return this.#caPem;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  /** A kubeconfig (YAML) pointing at this server. */
  kubeconfig(): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: fake\n  cluster:\n    server: ${this.url}\n    certificate-authority-data: ${Buffer.from(this.#caPem).toString('base64')}`,
      'users:',
      '- name: fake\n  user:\n    token: fake-token',
      'contexts:',
      '- name: fake\n  context:\n    cluster: fake\n    user: fake',
      'current-context: fake',
      '',
    ].join('\n');
  }

  addResource(r: FakeKubeResource): void {
    this.#resources.push(r);
  }

  /** Creates or replaces an object (server-side apply, simplified); returns it with its new resourceVersion. */
  apply(input: Record<string, unknown>): KubeObj {
    const obj = structuredClone(input) as KubeObj;
    const resource = this.#resourceFor(obj.apiVersion, obj.kind);
    const meta = obj.metadata ?? { name: '' };
    if (typeof meta.name !== 'string' || meta.name === '')
      throw new Error('apply: metadata.name is required');
    if (resource.namespaced) meta.namespace = typeof meta.namespace === 'string' ? meta.namespace : 'default';
    const store = this.#store(resource);
    const key = `${meta.namespace ?? ''}/${meta.name}`;
    const existing = store.get(key);
    meta.uid = existing?.metadata.uid ?? `uid-${this.#rv + 1}`;
    meta.creationTimestamp = existing?.metadata.creationTimestamp ?? new Date().toISOString();
    meta.resourceVersion = `${++this.#rv}`;
    obj.metadata = meta;
    store.set(key, obj);
    this.#emit({ rv: this.#rv, type: existing === undefined ? 'ADDED' : 'MODIFIED', object: obj });
    return obj;
  }

  delete(apiVersion: string, kind: string, namespace: string | undefined, name: string): boolean {
    const resource = this.#resourceFor(apiVersion, kind);
    const store = this.#store(resource);
    const key = `${resource.namespaced ? (namespace ?? 'default') : ''}/${name}`;
    const obj = store.get(key);
    if (obj === undefined) return false;
    store.delete(key);
    const gone = structuredClone(obj);
    gone.metadata.resourceVersion = `${++this.#rv}`;
    this.#emit({ rv: this.#rv, type: 'DELETED', object: gone });
    return true;
  }

  /** Forgets the event history (etcd compaction): watches from an older resourceVersion now get 410 Gone. */
  compact(): void {
    this.#history.length = 0;
    this.#oldestRv = this.#rv;
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watcher that allows bookmarks. */
  bookmark(): void {
    for (const w of this.#watchers) {
      if (!w.bookmarks) continue;
      this.#send(w.res, {
        type: 'BOOKMARK',
        object: {
          apiVersion: w.resource.apiVersion,
          kind: w.resource.kind,
          metadata: { resourceVersion: `${this.#rv}` },
        },
      });
    }
  }

  /** Ends every open watch (an API server restart or a load balancer timeout). */
  closeWatches(): void {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
  }

  get watchCount(): number {
    return this.#watchers.size;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.closeWatches();
    const server = this.#server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #resourceFor(apiVersion: string, kind: string): FakeKubeResource {
    const r = this.#resources.find((x) => x.apiVersion === apiVersion && x.kind === kind);
    if (r === undefined) throw new Error(`fake kube api: unknown resource ${apiVersion} ${kind}`);
    return r;
  }

  #store(r: FakeKubeResource): Map<string, KubeObj> {
    const key = `${r.apiVersion}/${r.kind}`;
    let m = this.#objects.get(key);
    if (m === undefined) {
      m = new Map();
      this.#objects.set(key, m);
    }
    return m;
  }

  #emit(event: WatchEvent): void {
    this.#history.push(event);
    const limit = this.#options.historyLimit ?? 1000;
    while (this.#history.length > limit) {
      const dropped = this.#history.shift();
      if (dropped !== undefined) this.#oldestRv = dropped.rv;
    }
    for (const w of this.#watchers) {
      if (!this.#matches(w, event.object)) continue;
      this.#send(w.res, { type: event.type, object: event.object });
    }
  }

  #matches(w: Watcher, obj: KubeObj): boolean {
    return (
      obj.apiVersion === w.resource.apiVersion &&
      obj.kind === w.resource.kind &&
      (w.namespace === undefined || obj.metadata.namespace === w.namespace)
    );
  }

  #send(res: ServerResponse, event: unknown): void {
    res.write(`${JSON.stringify(event)}\n`);
  }

  /** `/api/v1[/namespaces/<ns>]/<plural>` or `/apis/<g>/<v>[/namespaces/<ns>]/<plural>`. */
  #route(path: string): { resource: FakeKubeResource; namespace: string | undefined } | undefined {
    const parts = path.split('/').filter((p) => p !== '');
    let apiVersion: string;
    let rest: string[];
    if (parts[0] === 'api' && parts[1] !== undefined) {
      apiVersion = parts[1];
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts[1] !== undefined && parts[2] !== undefined) {
      apiVersion = `${parts[1]}/${parts[2]}`;
      rest = parts.slice(3);
    } else return undefined;
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length === 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    if (rest.length !== 1) return undefined;
    const resource = this.#resources.find((r) => r.apiVersion === apiVersion && r.plural === rest[0]);
    return resource === undefined ? undefined : { resource, namespace };
  }

  #status(res: ServerResponse, code: number, reason: string, message: string): void {
    const body = JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      code,
    });
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(body);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query });
    if (req.method !== 'GET') {
      this.#status(res, 405, 'MethodNotAllowed', 'the fake API server only serves GET');
      return;
    }
    const route = this.#route(url.pathname);
    if (route === undefined) {
      this.#status(
        res,
        404,
        'NotFound',
        `the server could not find the requested resource (${url.pathname})`,
      );
      return;
    }
    const watching = query.watch === 'true' || query.watch === '1';
    if (!watching) {
      const items = [...this.#store(route.resource).values()]
        .filter((o) => route.namespace === undefined || o.metadata.namespace === route.namespace)
        .map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
      const body = JSON.stringify({
        kind: `${route.resource.kind}List`,
        apiVersion: route.resource.apiVersion,
        metadata: { resourceVersion: `${this.#rv}` },
        items,
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
      return;
    }
    const from =
      query.resourceVersion === undefined || query.resourceVersion === ''
        ? undefined
        : Number(query.resourceVersion);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (from !== undefined && (Number.isNaN(from) || from < this.#oldestRv)) {
      this.#send(res, {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${query.resourceVersion} (${this.#oldestRv})`,
          reason: 'Expired',
          code: 410,
        },
      });
      res.end();
      return;
    }
    const watcher: Watcher = {
      res,
      resource: route.resource,
      namespace: route.namespace,
      bookmarks: query.allowWatchBookmarks === 'true',
    };
    if (from === undefined) {
      // No resourceVersion: the current state as ADDED events first, as the API server does.
      for (const o of this.#store(route.resource).values())
        if (this.#matches(watcher, o)) this.#send(res, { type: 'ADDED', object: o });
    } else {
      for (const e of this.#history)
        if (e.rv > from && this.#matches(watcher, e.object))
          this.#send(res, { type: e.type, object: e.object });
    }
    this.#watchers.add(watcher);
    const drop = () => this.#watchers.delete(watcher);
    req.on('close', drop);
    res.on('close', drop);
    const timeout = Number(query.timeoutSeconds);
    if (Number.isFinite(timeout) && timeout > 0) {
      const t = setTimeout(() => {
        drop();
        res.end();
      }, timeout * 1000);
      t.unref();
      res.on('close', () => clearTimeout(t));
    }
  }
}
