import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { isWeftError } from '@weft/telemetry/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeSkipReason } from './libc.js';
import { currentNetnsId, Netns } from './namespace.js';
import { connectIn, fdOf, listenServerIn, originalDstOf } from './node-sockets.js';
import { bindFd, closeFd, getMark, listenIn, localAddressOf, tcpSocket } from './sockets.js';

const skip =
  nativeSkipReason() ??
  (process.getuid?.() !== 0 ? 'needs root to create network namespaces and set SO_MARK' : undefined);
if (skip !== undefined) console.warn(`[netns] skipping namespace tests: ${skip}`);

const name = `wnt${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
const sh = (...argv: string[]) =>
  execFileSync(argv[0] as string, argv.slice(1), { stdio: 'pipe' }).toString();
const cleanup = () => {
  try {
    sh('ip', 'netns', 'del', name);
  } catch {
    // not there
  }
};

function once<T>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve, reject) => {
    emitter.once(event, (v: T) => resolve(v));
    if (event !== 'error') emitter.once('error', reject);
  });
}

describe.skipIf(skip !== undefined)('sockets inside a network namespace (root)', () => {
  let ns: Netns;
  beforeAll(() => {
    process.on('exit', cleanup);
    sh('ip', 'netns', 'add', name);
    sh('ip', '-n', name, 'link', 'set', 'lo', 'up');
    // A veth pair wholly inside the namespace gives it a routable subnet (no dummy module here).
    sh('ip', '-n', name, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    sh('ip', '-n', name, 'addr', 'add', '10.99.0.1/24', 'dev', 'v0');
    sh('ip', '-n', name, 'link', 'set', 'v0', 'up');
    sh('ip', '-n', name, 'link', 'set', 'v1', 'up');
    ns = Netns.open(`/var/run/netns/${name}`);
  });
  afterAll(() => {
    ns?.close();
    cleanup();
  });

  it('enters and always returns, even when the callback throws', () => {
    const own = currentNetnsId();
    const inside = ns.run(() => currentNetnsId());
    expect(inside).not.toBe(own);
    expect(() =>
      ns.run(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(currentNetnsId()).toBe(own);
  });

  it('a listener made inside is reachable only from inside', async () => {
    const server = createServer((s) => s.end('hello'));
    await listenServerIn(server, ns, { host: '127.0.0.1', port: 0, reusePort: true });
    const port = (server.address() as { port: number }).port;
    const inside = connectIn(ns, { host: '127.0.0.1', port, mark: 0x539 });
    await once(inside, 'connect');
    expect(getMark(fdOf(inside))).toBe(0x539);
    const chunks: Buffer[] = [];
    inside.on('data', (c: Buffer) => chunks.push(c));
    await once(inside, 'end');
    expect(Buffer.concat(chunks).toString()).toBe('hello');
    inside.destroy();
    // The host namespace has no such listener (or another one: the port is not ours there).
    const outside = connectIn(null, { host: '127.0.0.1', port });
    const err = await new Promise<Error | undefined>((resolve) => {
      outside.once('error', resolve);
      outside.once('connect', () => resolve(undefined));
    });
    outside.destroy();
    if (err !== undefined) expect((err as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    await new Promise((r) => server.close(r));
  });

  it('two SO_REUSEPORT listeners share a port; binding without it fails with EADDRINUSE', () => {
    const a = listenIn(ns, { host: '127.0.0.1', port: 0, reusePort: true });
    const port = localAddressOf(a).port;
    const b = listenIn(ns, { host: '127.0.0.1', port, reusePort: true });
    let caught: unknown;
    try {
      listenIn(ns, { host: '127.0.0.1', port });
    } catch (err) {
      caught = err;
    }
    expect(isWeftError(caught, 'WEFT_NETNS_BIND')).toBe(true);
    expect((caught as Error).message).toContain('EADDRINUSE');
    closeFd(a);
    closeFd(b);
  });

  it('IP_TRANSPARENT allows binding a foreign source address', () => {
    const plain = tcpSocket(ns, 4);
    expect(() => bindFd(plain, '10.77.0.5', 0)).toThrow(/EADDRNOTAVAIL/);
    closeFd(plain);
    const transparent = tcpSocket(ns, 4, { transparent: true, mark: 0x539 });
    bindFd(transparent, '10.77.0.5', 0);
    expect(localAddressOf(transparent).address).toBe('10.77.0.5');
    closeFd(transparent);
  });

  it('SO_ORIGINAL_DST gives the destination before iptables REDIRECT', async () => {
    let onAccept: (s: Socket) => void = () => undefined;
    const accepted = new Promise<Socket>((resolve) => {
      onAccept = resolve;
    });
    const srv: Server = createServer((s) => onAccept(s));
    await listenServerIn(srv, ns, { host: '127.0.0.1', port: 0 });
    const port = (srv.address() as { port: number }).port;
    sh(
      'ip',
      'netns',
      'exec',
      name,
      'iptables',
      '-t',
      'nat',
      '-A',
      'OUTPUT',
      '-p',
      'tcp',
      '-d',
      '10.99.0.9',
      '--dport',
      '80',
      '-j',
      'REDIRECT',
      '--to-ports',
      String(port),
    );
    const client = connectIn(ns, { host: '10.99.0.9', port: 80 });
    const socket = await accepted;
    expect(originalDstOf(socket)).toEqual({ family: 4, address: '10.99.0.9', port: 80 });
    // A connection that was not redirected has no original destination.
    const direct = connectIn(ns, { host: '127.0.0.1', port });
    await once(direct, 'connect');
    client.destroy();
    direct.destroy();
    socket.destroy();
    await new Promise((r) => srv.close(r));
  });

  it('reports a missing namespace with WEFT_NETNS_OPEN and the errno', () => {
    let caught: unknown;
    try {
      Netns.open('/var/run/netns/does-not-exist-weft');
    } catch (err) {
      caught = err;
    }
    expect(isWeftError(caught, 'WEFT_NETNS_OPEN')).toBe(true);
    expect((caught as Error).message).toContain('ENOENT');
  });

  it('works on a worker thread (setns is per thread)', async () => {
    const url = new URL('./namespace.ts', import.meta.url).href;
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import('tsx/esm/api').then(({ register }) => { register(); return import(workerData.url); }).then(({ Netns, currentNetnsId }) => {
        const ns = Netns.open(workerData.path);
        const own = currentNetnsId();
        const inside = ns.run(() => currentNetnsId());
        parentPort.postMessage({ own, inside, after: currentNetnsId() });
        ns.close();
      }).catch((e) => parentPort.postMessage({ error: String(e) }));`;
    const worker = new Worker(code, {
      eval: true,
      workerData: { url, path: `/var/run/netns/${name}` },
    });
    const msg = await once<{ own: string; inside: string; after: string; error?: string }>(worker, 'message');
    await worker.terminate();
    expect(msg.error).toBeUndefined();
    expect(msg.inside).toBe(ns.run(() => currentNetnsId()));
    expect(msg.after).toBe(msg.own);
  });
});
