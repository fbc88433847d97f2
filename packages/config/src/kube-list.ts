/**
 * One LIST of a Kubernetes collection with a kubeconfig's credentials: pilot's reflectors start from it,
 * `weftctl analyze --kubeconfig` reads a cluster with it. The credentials are anything shaped like
 * @kubernetes/client-node's KubeConfig (this library does not depend on it).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeResource } from './kube-resources.js';

export interface KubeCredentials {
  getCurrentCluster(): { readonly server: string } | null;
  applyToHTTPSOptions(options: RequestOptions): Promise<void>;
}

/** An object as the API server returns it (apiVersion/kind filled in for list items). */
export type KubeItem = Record<string, unknown> & {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
};

/** GET `path` on the current cluster; rejects with `statusCode` set for HTTP errors (404, 410…). */
export async function kubeGet(kc: KubeCredentials, path: string, timeoutMs = 30_000): Promise<string> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig has no current cluster');
  const url = new URL(path, cluster.server);
  const options: RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
  await kc.applyToHTTPSOptions(options);
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { ...options, timeout: timeoutMs }, (res) => {
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

/** LISTs a collection: its items (with apiVersion and kind, as kubectl prints them) and resourceVersion. */
export async function kubeList(
  kc: KubeCredentials,
  resource: KubeResource,
): Promise<{ items: KubeItem[]; resourceVersion: string }> {
  const list = JSON.parse(await kubeGet(kc, resource.path)) as {
    metadata?: { resourceVersion?: string };
    items?: KubeItem[];
  };
  // List items carry no apiVersion/kind; put them back.
  const items = (list.items ?? []).map((i) => ({
    apiVersion: resource.apiVersion,
    kind: resource.kind,
    ...i,
  }));
  return { items, resourceVersion: list.metadata?.resourceVersion ?? '' };
}
