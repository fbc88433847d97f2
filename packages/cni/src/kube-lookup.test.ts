import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestCa } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentMessage } from './agent-client.js';
import { kubeconfigJson } from './install.js';
import { loadKubeconfig } from './kube-client.js';
import { defaultDeps, runPlugin } from './plugin.js';

let dir: string;
let server: Server;
let kubeconfig: string;
const seen: { path: string; auth: string | undefined }[] = [];
let paStatus = 404;
let podStatus = 200;

const routes: Record<string, () => [number, unknown]> = {
  '/api/v1/namespaces/prod/pods/web-1': () => [
    podStatus,
    {
      metadata: { uid: 'api-uid', labels: { app: 'web' }, annotations: {} },
      spec: { serviceAccountName: 'web' },
    },
  ],
  '/api/v1/namespaces/prod': () => [200, { metadata: { labels: { 'istio.io/dataplane-mode': 'ambient' } } }],
  '/apis/security.istio.io/v1/namespaces/prod/peerauthentications': () => [paStatus, { items: [] }],
  '/apis/security.istio.io/v1/namespaces/istio-system/peerauthentications': () => [
    paStatus,
    {
      items: [
        { metadata: { namespace: 'istio-system', name: 'default' }, spec: { mtls: { mode: 'STRICT' } } },
      ],
    },
  ],
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-cni-kube-'));
  const ca = await TestCa.create();
  const cred = await ca.issue({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usages: ['server'] });
  server = createServer({ cert: cred.chainPem, key: cred.keyPem }, (req, res) => {
    seen.push({ path: req.url ?? '', auth: req.headers.authorization });
    const route = routes[req.url ?? ''];
    if (req.headers.authorization !== 'Bearer node-token') {
      res.statusCode = 401;
      res.end('{}');
      return;
    }
    const [status, body] = route?.() ?? [404, { kind: 'Status' }];
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    kubeconfigJson({ server: `https://127.0.0.1:${port}`, token: 'node-token', caPem: ca.certPem }),
  );
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

function conf(): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'k8s',
    type: 'weft-cni',
    kubeconfig,
    socketPath: join(dir, 'absent.sock'),
    prevResult: { cniVersion: '1.0.0', ips: [{ address: '10.1.0.7/24' }] },
  });
}

const env = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/p1',
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'K8S_POD_NAMESPACE=prod;K8S_POD_NAME=web-1',
};

describe('pod lookups through the Kubernetes API (kubeconfig written by weft-cni install)', () => {
  it('reads pod, namespace and PeerAuthentications over TLS with the token, and sends what it learned', async () => {
    const sent: AgentMessage[] = [];
    const out = await runPlugin(env, conf(), {
      ...defaultDeps,
      send: async (_path, message) => {
        sent.push(message);
        return { ok: true };
      },
    });
    expect(out.exitCode).toBe(0);
    expect(sent).toEqual([
      {
        type: 'add',
        pod: {
          uid: 'api-uid',
          name: 'web-1',
          namespace: 'prod',
          serviceAccount: 'web',
          netnsPath: '/var/run/netns/p1',
          ips: ['10.1.0.7'],
          labels: { app: 'web' },
        },
      },
    ]);
    expect(seen.every((s) => s.auth === 'Bearer node-token')).toBe(true);
    expect(seen.map((s) => s.path).sort()).toEqual(Object.keys(routes).sort());
  });

  it('a missing PeerAuthentication CRD (404) is "no policy", and a mesh-wide STRICT one fails closed', async () => {
    // 404 → PERMISSIVE → fail open when the agent is down.
    paStatus = 404;
    expect((await runPlugin(env, conf())).exitCode).toBe(0);
    paStatus = 200;
    const out = await runPlugin(env, conf());
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 11 });
  });

  it('an API error fails closed with WEFT_CNI_LOOKUP_FAILED (code 11): kubelet retries', async () => {
    podStatus = 403;
    try {
      const out = await runPlugin(env, conf());
      expect(out.exitCode).toBe(1);
      expect(JSON.parse(out.stdout).msg).toContain('WEFT_CNI_LOOKUP_FAILED');
    } finally {
      podStatus = 200;
    }
  });

  it('also reads an ordinary YAML kubeconfig (current-context, token file)', async () => {
    writeFileSync(join(dir, 'token'), 'file-token\n');
    const path = join(dir, 'kubeconfig.yaml');
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: b',
        'clusters:',
        '  - name: a',
        '    cluster: { server: "https://10.0.0.1" }',
        '  - name: b',
        '    cluster: { server: "https://10.0.0.2:6443/", insecure-skip-tls-verify: true }',
        'users:',
        `  - name: u\n    user: { tokenFile: ${join(dir, 'token')} }`,
        'contexts:',
        '  - name: b',
        '    context: { cluster: b, user: u }',
      ].join('\n'),
    );
    expect(await loadKubeconfig(path)).toEqual({
      server: 'https://10.0.0.2:6443',
      insecureSkipTlsVerify: true,
      token: 'file-token',
    });
  });
});
