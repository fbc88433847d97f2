import { request } from 'node:https';
import { WeftError } from '@weft/telemetry';
import type { CaState } from './rotation.js';
import type { CaStore } from './store.js';

/** The few Secret calls the store needs; pilot may back it with @kubernetes/client-node instead. */
export interface SecretClient {
  /** Decoded data and the resourceVersion, or undefined when the Secret does not exist. */
  read(
    namespace: string,
    name: string,
  ): Promise<{ data: Record<string, string>; resourceVersion: string } | undefined>;
  /** Creates it; WEFT_CA_STORE_CONFLICT if it already exists. Returns the new resourceVersion. */
  create(namespace: string, name: string, data: Record<string, string>): Promise<string>;
  /** Replaces it if still at `resourceVersion`; WEFT_CA_STORE_CONFLICT otherwise. */
  replace(
    namespace: string,
    name: string,
    data: Record<string, string>,
    resourceVersion: string,
  ): Promise<string>;
}

const STATE_KEY = 'ca-state.json';

/**
 * Keeps the CA in a Kubernetes Secret (default weft-system/weft-ca): `ca-state.json` is the state; the
 * issuing root is also written in Istio's names (ca-cert.pem, ca-key.pem, root-cert.pem = the bundle) for
 * tools that read them. Writes use the resourceVersion, so two pilot replicas never overwrite each other.
 */
export class SecretCaStore implements CaStore {
  #resourceVersion: string | undefined;

  constructor(
    private readonly client: SecretClient,
    readonly namespace = 'weft-system',
    readonly name = 'weft-ca',
  ) {}

  describe(): string {
    return `secret ${this.namespace}/${this.name}`;
  }

  async load(): Promise<CaState | undefined> {
    const secret = await this.client.read(this.namespace, this.name);
    if (secret === undefined) return undefined;
    this.#resourceVersion = secret.resourceVersion;
    const text = secret.data[STATE_KEY];
    if (text === undefined)
      throw new WeftError(
        'WEFT_CA_STORE_CORRUPT',
        `secret ${this.describe()} has no ${STATE_KEY}; it was not written by weft-pilot`,
      );
    try {
      const state = JSON.parse(text) as CaState;
      if (!Array.isArray(state.roots) || state.roots.length === 0) throw new Error('missing roots');
      return state;
    } catch (err) {
      throw new WeftError('WEFT_CA_STORE_CORRUPT', `${this.describe()}: ${STATE_KEY} is unreadable`, {
        cause: err,
      });
    }
  }

  async save(state: CaState): Promise<void> {
    const issuing = state.roots[state.issuing];
    const data: Record<string, string> = {
      [STATE_KEY]: JSON.stringify(state),
      'root-cert.pem': state.roots.map((r) => r.certPem).join(''),
      ...(issuing === undefined ? {} : { 'ca-cert.pem': issuing.certPem, 'ca-key.pem': issuing.keyPem }),
    };
    this.#resourceVersion =
      this.#resourceVersion === undefined
        ? await this.client.create(this.namespace, this.name, data)
        : await this.client.replace(this.namespace, this.name, data, this.#resourceVersion);
  }
}

export interface HttpsSecretClientOptions {
  /** e.g. https://kubernetes.default.svc */
  apiServer: string;
  token: () => string | Promise<string>;
  caPem: string;
  timeoutMs?: number;
}

/** SecretClient over the Kubernetes REST API with node:https. */
export function httpsSecretClient(o: HttpsSecretClientOptions): SecretClient {
  async function call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    const token = await o.token();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, o.apiServer),
        {
          method,
          ca: o.caPem,
          timeout: o.timeoutMs ?? 5000,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text === '' ? undefined : JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', (err) =>
        reject(
          new WeftError('WEFT_CA_STORE_UNAVAILABLE', `Kubernetes API request failed: ${err.message}`, {
            cause: err,
          }),
        ),
      );
      req.end(payload);
    });
  }
  const encode = (data: Record<string, string>) =>
    Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  const fail = (status: number, what: string): WeftError =>
    status === 409
      ? new WeftError(
          'WEFT_CA_STORE_CONFLICT',
          `${what}: the Secret changed underneath (another pilot replica?); restart to reload it`,
        )
      : new WeftError('WEFT_CA_STORE_UNAVAILABLE', `${what}: HTTP ${status}; check pilot's RBAC on secrets`);
  const secretPath = (ns: string, name?: string) =>
    `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
  const versionOf = (json: unknown) =>
    String((json as { metadata?: { resourceVersion?: string } })?.metadata?.resourceVersion ?? '');
  return {
    async read(ns, name) {
      const res = await call('GET', secretPath(ns, name));
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw fail(res.status, `reading secret ${ns}/${name}`);
      const s = res.json as { data?: Record<string, string> };
      const data = Object.fromEntries(
        Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
      return { data, resourceVersion: versionOf(res.json) };
    },
    async create(ns, name, data) {
      const res = await call('POST', secretPath(ns), {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: ns, labels: { 'app.kubernetes.io/managed-by': 'weft-pilot' } },
        type: 'Opaque',
        data: encode(data),
      });
      if (res.status !== 201 && res.status !== 200) throw fail(res.status, `creating secret ${ns}/${name}`);
      return versionOf(res.json);
    },
    async replace(ns, name, data, resourceVersion) {
      const res = await call('PUT', secretPath(ns, name), {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name,
          namespace: ns,
          resourceVersion,
          labels: { 'app.kubernetes.io/managed-by': 'weft-pilot' },
        },
        type: 'Opaque',
        data: encode(data),
      });
      if (res.status !== 200) throw fail(res.status, `replacing secret ${ns}/${name}`);
      return versionOf(res.json);
    },
  };
}
