/**
 * A minimal read-only Kubernetes API client for the plugin: GET with a bearer token or client
 * certificate from a kubeconfig. The plugin runs once per pod on the host, so it avoids a full client
 * library (start time) and YAML unless the kubeconfig is not JSON.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { CniError, CniErrorCode } from './errors.js';

export interface KubeAccess {
  server: string;
  ca?: string;
  token?: string;
  cert?: string;
  key?: string;
  insecureSkipTlsVerify: boolean;
}

type Named<T> = { name?: string } & T;
interface Kubeconfig {
  'current-context'?: string;
  contexts?: Named<{ context?: { cluster?: string; user?: string } }>[];
  clusters?: Named<{
    cluster?: {
      server?: string;
      'certificate-authority'?: string;
      'certificate-authority-data'?: string;
      'insecure-skip-tls-verify'?: boolean;
    };
  }>[];
  users?: Named<{
    user?: {
      token?: string;
      tokenFile?: string;
      'client-certificate-data'?: string;
      'client-key-data'?: string;
      'client-certificate'?: string;
      'client-key'?: string;
    };
  }>[];
}

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** Parses a kubeconfig (JSON, or YAML through the `yaml` package loaded only then). */
export async function loadKubeconfig(path: string): Promise<KubeAccess> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CniError(CniErrorCode.LookupFailed, `cannot read kubeconfig ${path}`, { cause: err });
  }
  let kc: Kubeconfig;
  try {
    kc = JSON.parse(text) as Kubeconfig;
  } catch {
    const { parse } = await import('yaml');
    kc = parse(text) as Kubeconfig;
  }
  const ctx =
    kc.contexts?.find((c) => c.name === kc['current-context'])?.context ?? kc.contexts?.[0]?.context;
  const cluster = (kc.clusters?.find((c) => c.name === ctx?.cluster) ?? kc.clusters?.[0])?.cluster;
  const user = (kc.users?.find((u) => u.name === ctx?.user) ?? kc.users?.[0])?.user;
  if (cluster?.server === undefined)
    throw new CniError(CniErrorCode.LookupFailed, `kubeconfig ${path} names no cluster server`);
  const access: KubeAccess = {
    server: cluster.server.replace(/\/+$/, ''),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
  };
  if (cluster['certificate-authority-data'] !== undefined)
    access.ca = b64(cluster['certificate-authority-data']);
  else if (cluster['certificate-authority'] !== undefined)
    access.ca = readFileSync(cluster['certificate-authority'], 'utf8');
  if (user?.token !== undefined) access.token = user.token;
  else if (user?.tokenFile !== undefined) access.token = readFileSync(user.tokenFile, 'utf8').trim();
  if (user?.['client-certificate-data'] !== undefined) access.cert = b64(user['client-certificate-data']);
  else if (user?.['client-certificate'] !== undefined)
    access.cert = readFileSync(user['client-certificate'], 'utf8');
  if (user?.['client-key-data'] !== undefined) access.key = b64(user['client-key-data']);
  else if (user?.['client-key'] !== undefined) access.key = readFileSync(user['client-key'], 'utf8');
  return access;
}

/** GET a JSON object; resolves undefined on 404 (pod gone, CRD not installed). */
export function kubeGet(access: KubeAccess, path: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const url = new URL(access.server + path);
    const req = request(
      url,
      {
        method: 'GET',
        headers: {
          accept: 'application/json',
          ...(access.token === undefined ? {} : { authorization: `Bearer ${access.token}` }),
        },
        ...(access.ca === undefined ? {} : { ca: access.ca }),
        ...(access.cert === undefined ? {} : { cert: access.cert }),
        ...(access.key === undefined ? {} : { key: access.key }),
        rejectUnauthorized: !access.insecureSkipTlsVerify,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 404) return resolve(undefined);
          if (res.statusCode !== 200)
            return reject(
              new CniError(
                CniErrorCode.LookupFailed,
                `Kubernetes API GET ${path} answered ${res.statusCode}: ${body.slice(0, 200)}`,
              ),
            );
          try {
            resolve(JSON.parse(body));
          } catch (err) {
            reject(
              new CniError(CniErrorCode.LookupFailed, `Kubernetes API GET ${path}: bad JSON`, { cause: err }),
            );
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(
        new CniError(CniErrorCode.LookupFailed, `Kubernetes API GET ${path} timed out after ${timeoutMs} ms`),
      ),
    );
    req.on('error', (err) =>
      reject(
        err instanceof CniError
          ? err
          : new CniError(CniErrorCode.LookupFailed, `Kubernetes API GET ${path} failed: ${err.message}`, {
              cause: err,
            }),
      ),
    );
    req.end();
  });
}
