/**
 * A byte relay so a process inside a pod's namespace (the waypoint) can reach pilot on the host's
 * 127.0.0.1 without any link into the host's namespace: a Unix socket in the state directory is the
 * bridge (files are not namespaced). Two halves, each a separate process:
 *   inner (run inside the pod netns):  TCP 127.0.0.1:<port>  →  unix <socket>
 *   outer (run in the host netns):     unix <socket>          →  TCP 127.0.0.1:<port>
 * argv: `inner|outer <port>=<socket> ...`
 */
import { rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';

export type RelaySide = 'inner' | 'outer';

export interface RelayPair {
  port: number;
  socket: string;
}

export interface Relay {
  close(): Promise<void>;
}

function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const close = () => {
    a.destroy();
    b.destroy();
  };
  a.once('error', close);
  b.once('error', close);
  a.once('close', close);
  b.once('close', close);
}

function listen(server: Server, target: { port: number } | { path: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if ('path' in target) server.listen(target.path, () => resolve());
    else server.listen({ port: target.port, host: '127.0.0.1' }, () => resolve());
  });
}

export function parsePairs(pairs: readonly string[]): RelayPair[] {
  return pairs.map((pair) => {
    const eq = pair.indexOf('=');
    const port = Number(pair.slice(0, eq));
    const socket = pair.slice(eq + 1);
    if (eq <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535 || socket === '')
      throw new Error(`bad relay pair ${pair} (want <port>=<socket>)`);
    return { port, socket };
  });
}

export async function startRelay(side: RelaySide, pairs: readonly RelayPair[]): Promise<Relay> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  for (const { port, socket } of pairs) {
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
      const upstream =
        side === 'inner'
          ? connect({ path: socket, allowHalfOpen: true })
          : connect({ port, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
      sockets.add(client);
      sockets.add(upstream);
      client.once('close', () => sockets.delete(client));
      upstream.once('close', () => sockets.delete(upstream));
      pipeBoth(client, upstream);
    });
    if (side === 'outer') rmSync(socket, { force: true });
    await listen(server, side === 'inner' ? { port } : { path: socket });
    servers.push(server);
  }
  return {
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}

/** Process entry: `inner|outer <port>=<socket> ...`; prints one ready line, stops on SIGTERM. */
export async function relayMain(argv: readonly string[]): Promise<void> {
  const [side, ...rest] = argv;
  if (side !== 'inner' && side !== 'outer') throw new Error('usage: relay inner|outer <port>=<socket> ...');
  const relay = await startRelay(side, parsePairs(rest));
  process.stdout.write(`relay ${side} ready: ${rest.join(' ')}\n`);
  const stop = () => void relay.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
