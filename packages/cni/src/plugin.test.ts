import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPlugin } from './plugin.js';

let dir: string;
let socketPath: string;
let server: Server;
const received: Record<string, unknown>[] = [];
let answer: (msg: Record<string, unknown>) => object = () => ({ ok: true });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-cni-plugin-'));
  socketPath = join(dir, 'node.sock');
  server = createServer((socket) => {
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      let nl = buf.indexOf('\n');
      while (nl !== -1) {
        const msg = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
        received.push(msg);
        socket.write(`${JSON.stringify(answer(msg))}\n`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const prevResult = {
  cniVersion: '1.0.0',
  interfaces: [
    { name: 'cni0', mac: '00:11:22:33:44:55' },
    { name: 'eth0', mac: '00:11:22:33:44:66', sandbox: '/var/run/netns/pod1' },
  ],
  ips: [{ address: '10.22.0.5/24', gateway: '10.22.0.1', interface: 1 }],
  routes: [{ dst: '0.0.0.0/0' }],
};

function conf(over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'k8s',
    type: 'weft-cni',
    socketPath,
    agentTimeoutMs: 2000,
    metadata: {
      namespaces: { prod: { labels: { 'istio.io/dataplane-mode': 'ambient' } }, plain: { labels: {} } },
      pods: { 'prod/web-1': { uid: 'uid-web-1', serviceAccount: 'web', labels: { app: 'web' } } },
      peerAuthentications: [],
    },
    prevResult,
    ...over,
  });
}

function env(command: string, pod = 'web-1', namespace = 'prod') {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'c1',
    CNI_NETNS: '/var/run/netns/pod1',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/usr/lib/cni',
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${pod}`,
  };
}

const strict = {
  peerAuthentications: [
    { metadata: { namespace: 'istio-system', name: 'default' }, spec: { mtls: { mode: 'STRICT' } } },
  ],
};

describe('weft-cni plugin', () => {
  it('VERSION lists the supported spec versions', async () => {
    const out = await runPlugin({ CNI_COMMAND: 'VERSION' }, '');
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({
      cniVersion: '1.0.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'],
    });
  });

  it('ADD hands an ambient pod to weft-node and passes prevResult on unchanged', async () => {
    received.length = 0;
    const out = await runPlugin(env('ADD'), conf());
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(prevResult);
    expect(received).toEqual([
      {
        type: 'add',
        pod: {
          uid: 'uid-web-1',
          name: 'web-1',
          namespace: 'prod',
          serviceAccount: 'web',
          netnsPath: '/var/run/netns/pod1',
          ips: ['10.22.0.5'],
          labels: { app: 'web' },
        },
      },
    ]);
  });

  it('K8S_POD_UID from the runtime wins over the lookup', async () => {
    received.length = 0;
    const e = { ...env('ADD'), CNI_ARGS: `${env('ADD').CNI_ARGS};K8S_POD_UID=rt-uid` };
    expect((await runPlugin(e, conf())).exitCode).toBe(0);
    expect(received[0]?.pod).toMatchObject({ uid: 'rt-uid' });
  });

  it('leaves pods outside the mesh alone', async () => {
    received.length = 0;
    const out = await runPlugin(env('ADD', 'x', 'plain'), conf());
    expect(out.exitCode).toBe(0);
    expect(received).toEqual([]);
  });

  it('fails closed for a STRICT pod when weft-node is unreachable (CNI code 11)', async () => {
    const md = JSON.parse(conf()).metadata;
    const out = await runPlugin(
      env('ADD'),
      conf({ socketPath: join(dir, 'absent.sock'), metadata: { ...md, ...strict } }),
    );
    expect(out.exitCode).toBe(1);
    const error = JSON.parse(out.stdout);
    expect(error).toMatchObject({ cniVersion: '1.0.0', code: 11 });
    expect(error.msg).toContain('WEFT_CNI_AGENT_UNREACHABLE');
  });

  it('fails open for a PERMISSIVE pod when weft-node is unreachable', async () => {
    const out = await runPlugin(env('ADD'), conf({ socketPath: join(dir, 'absent.sock') }));
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(prevResult);
  });

  it('fails closed when weft-node refuses a STRICT pod, with its reason', async () => {
    answer = () => ({ ok: false, error: { code: 'WEFT_NODE_BAD_MESSAGE', message: 'no such netns' } });
    try {
      const md = JSON.parse(conf()).metadata;
      const out = await runPlugin(env('ADD'), conf({ metadata: { ...md, ...strict } }));
      expect(out.exitCode).toBe(1);
      expect(JSON.parse(out.stdout).msg).toContain('no such netns');
    } finally {
      answer = () => ({ ok: true });
    }
  });

  it('failurePolicy closed blocks even PERMISSIVE pods', async () => {
    const out = await runPlugin(
      env('ADD'),
      conf({ socketPath: join(dir, 'absent.sock'), failurePolicy: 'closed' }),
    );
    expect(out.exitCode).toBe(1);
  });

  it('DEL tells weft-node and never fails', async () => {
    received.length = 0;
    const out = await runPlugin(env('DEL'), conf({ prevResult: undefined }));
    expect(out).toEqual({ stdout: '', exitCode: 0 });
    expect(received).toEqual([{ type: 'del', uid: 'uid-web-1' }]);
    const gone = await runPlugin(env('DEL'), conf({ socketPath: join(dir, 'absent.sock') }));
    expect(gone).toEqual({ stdout: '', exitCode: 0 });
  });

  it('CHECK fails for a STRICT pod whose agent is gone', async () => {
    expect((await runPlugin(env('CHECK'), conf())).exitCode).toBe(0);
    const md = JSON.parse(conf()).metadata;
    const out = await runPlugin(
      env('CHECK'),
      conf({ socketPath: join(dir, 'absent.sock'), metadata: { ...md, ...strict } }),
    );
    expect(out.exitCode).toBe(1);
  });

  it.each([
    ['not chained', env('ADD'), conf({ prevResult: undefined }), 7],
    ['bad JSON', env('ADD'), '{', 7],
    ['unsupported version', env('ADD'), conf({ cniVersion: '0.2.0' }), 1],
    ['missing env', { CNI_COMMAND: 'ADD' }, conf(), 4],
    ['bad failurePolicy', env('ADD'), conf({ failurePolicy: 'sometimes' }), 7],
  ])('reports %s as a CNI error object', async (_name, e, stdin, code) => {
    const out = await runPlugin(e, stdin);
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout).code).toBe(code);
  });
});
