import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from './authority.js';
import { httpsSecretClient, SecretCaStore } from './secret-store.js';
import { DirectoryCaStore } from './store.js';

/** A tiny Kubernetes API: secrets in memory, resourceVersion checks, 409 on conflicts. */
function fakeApi(tls: { cert: string; key: string }) {
  const secrets = new Map<
    string,
    { metadata: { name: string; namespace: string; resourceVersion: string }; data: Record<string, string> }
  >();
  let rv = 100;
  const server = createServer(tls, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const send = (code: number, json?: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(json === undefined ? '' : JSON.stringify(json));
      };
      if (req.headers.authorization !== 'Bearer pilot-token') return send(401, { reason: 'Unauthorized' });
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/secrets(?:\/([^/]+))?$/.exec(req.url ?? '');
      if (m === null) return send(404);
      const [, ns, name] = m;
      if (req.method === 'GET') {
        const s = secrets.get(`${ns}/${name}`);
        return s === undefined ? send(404, { reason: 'NotFound' }) : send(200, s);
      }
      const doc = JSON.parse(body) as {
        metadata: { name: string; resourceVersion?: string };
        data: Record<string, string>;
      };
      const key = `${ns}/${doc.metadata.name}`;
      if (req.method === 'POST') {
        if (secrets.has(key)) return send(409, { reason: 'AlreadyExists' });
        const s = {
          metadata: { name: doc.metadata.name, namespace: ns!, resourceVersion: String(++rv) },
          data: doc.data,
        };
        secrets.set(key, s);
        return send(201, s);
      }
      if (req.method === 'PUT') {
        const cur = secrets.get(key);
        if (cur === undefined) return send(404);
        if (cur.metadata.resourceVersion !== doc.metadata.resourceVersion)
          return send(409, { reason: 'Conflict' });
        const s = { metadata: { ...cur.metadata, resourceVersion: String(++rv) }, data: doc.data };
        secrets.set(key, s);
        return send(200, s);
      }
      send(405);
    });
  });
  return { server, secrets };
}

describe('SecretCaStore against a Kubernetes API', () => {
  let dir: string;
  let api: ReturnType<typeof fakeApi>;
  let client: ReturnType<typeof httpsSecretClient>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-secret-'));
    const tlsCa = await CertificateAuthority.open(new DirectoryCaStore(dir));
    const serving = tlsCa.issueServing({
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      ttlSeconds: 3600,
    });
    api = fakeApi({ cert: serving.chainPem, key: serving.keyPem });
    api.server.listen(0, '127.0.0.1');
    await once(api.server, 'listening');
    client = httpsSecretClient({
      apiServer: `https://127.0.0.1:${(api.server.address() as AddressInfo).port}`,
      token: () => 'pilot-token',
      caPem: tlsCa.bundle().roots[0]!,
    });
  });
  afterAll(() => {
    api.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the root once even when two replicas start together, and persists rotations', async () => {
    const [a, b] = await Promise.all([
      CertificateAuthority.open(new SecretCaStore(client)),
      CertificateAuthority.open(new SecretCaStore(client)),
    ]);
    expect(a.bundle()).toEqual(b.bundle());
    const secret = api.secrets.get('weft-system/weft-ca')!;
    expect(Object.keys(secret.data).sort()).toEqual([
      'ca-cert.pem',
      'ca-key.pem',
      'ca-state.json',
      'root-cert.pem',
    ]);
    expect(a.status().store).toBe('secret weft-system/weft-ca');

    await a.rotate('add');
    const reloaded = await CertificateAuthority.open(new SecretCaStore(client));
    expect(reloaded.status().phase).toBe('added');
    // b still holds the old resourceVersion: its write is refused instead of undoing a's rotation.
    await expect(b.rotate('add')).rejects.toMatchObject({ code: 'WEFT_CA_STORE_CONFLICT' });
  });

  it('reports API failures with a code', async () => {
    const bad = httpsSecretClient({
      apiServer: `https://127.0.0.1:${(api.server.address() as AddressInfo).port}`,
      token: () => 'wrong',
      caPem: '',
    });
    await expect(new SecretCaStore(bad, 'x', 'y').load()).rejects.toMatchObject({
      code: expect.stringMatching(/^WEFT_CA_STORE_/),
    });
  });
});
