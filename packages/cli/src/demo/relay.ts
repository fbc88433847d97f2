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

export async function relayMain(argv: readonly string[]): Promise<void> {
  const [side, ...pairs] = argv;
  if (side !== 'inner' && side !== 'outer') throw new Error('usage: relay inner|outer <port>=<socket> ...');
  const servers: Server[] = [];
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const port = Number(pair.slice(0, eq));
    const path = pair.slice(eq + 1);
    if (eq <= 0 || !Number.isInteger(port) || path === '')
      throw new Error(`bad pair ${pair} (want <port>=<socket>)`);
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
      const upstream =
        side === 'inner'
          ? connect({ path, allowHalfOpen: true })
          : connect({ port, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
      pipeBoth(client, upstream);
    });
    if (side === 'outer') rmSync(path, { force: true });
    await listen(server, side === 'inner' ? { port } : { path });
    servers.push(server);
  }
  process.stdout.write(`relay ${side} ready: ${pairs.join(' ')}\n`);
  const stop = () => {
    for (const s of servers) s.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
