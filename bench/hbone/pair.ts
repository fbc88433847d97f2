/**
 * One side of the benchmark's Weft tunnel pair, run as its own process so its CPU time can be measured.
 *
 *   b: HBONE server on --port, dialing each CONNECT's :authority (the iperf3 / echo target); CONNECTs to
 *      port 9 (discard's number, never dialed here) are echoed in-process, to time HBONE alone.
 *   a: plain TCP listeners (--route listenPort=host:port), each connection tunnelled over HBONE to --hbone;
 *      --no-pool opens a fresh TLS connection per tunnel (what a proxy without pooling pays).
 * Prints "ready" once listening.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  createHbonePool,
  createHboneServer,
  directHandler,
  type HbonePool,
  pump,
  setStreamBufferDefaults,
  staticCredentials,
} from '@weft/hbone';

const args = process.argv.slice(2);
const role = args[0];
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const dir = flag('--dir') ?? '.';
const pem = (name: string): string => readFileSync(join(dir, name), 'utf8');
const SERVER_ID = 'spiffe://cluster.local/ns/bench/sa/server';
const CLIENT_ID = 'spiffe://cluster.local/ns/bench/sa/client';

setStreamBufferDefaults();

const IN_PROCESS_ECHO_PORT = 9;
const dial = directHandler();

if (role === 'b') {
  const server = createHboneServer({
    credentials: staticCredentials({
      identity: SERVER_ID,
      certChainPem: pem('server.pem'),
      keyPem: pem('server-key.pem'),
      rootsPem: pem('ca.pem'),
    }),
    handler: (request) =>
      request.port === IN_PROCESS_ECHO_PORT ? { upstream: new PassThrough() } : dial(request),
  });
  await server.listen({ port: Number(flag('--port')), host: '127.0.0.1' });
  console.log('ready');
} else if (role === 'a') {
  const credentials = staticCredentials({
    identity: CLIENT_ID,
    certChainPem: pem('client.pem'),
    keyPem: pem('client-key.pem'),
    rootsPem: pem('ca.pem'),
  });
  const [hopHost, hopPort] = (flag('--hbone') ?? '127.0.0.1:15008').split(':');
  const nextHop = { host: hopHost ?? '127.0.0.1', port: Number(hopPort) };
  const noPool = args.includes('--no-pool');
  const shared = createHbonePool({ credentials });
  const routes = args.flatMap((a, i) => (args[i - 1] === '--route' ? [a] : []));
  await Promise.all(
    routes.map((route) => {
      const [listen, authority] = route.split('=');
      const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
        socket.on('error', () => {});
        const pool: HbonePool = noPool ? createHbonePool({ credentials }) : shared;
        pool
          .open({
            nextHop,
            authority: authority ?? '',
            expectedIdentities: [SERVER_ID],
            forwardedFor: `${socket.remoteAddress}:${socket.remotePort}`,
          })
          .then(
            (tunnel) => pump(socket, tunnel.stream),
            () => socket.destroy(),
          )
          .finally(() => {
            if (noPool) void pool.close();
          });
      });
      return new Promise<void>((resolve) => server.listen(Number(listen), '127.0.0.1', resolve));
    }),
  );
  console.log('ready');
} else {
  console.error('usage: pair.ts a|b ...');
  process.exit(2);
}

// Exit cleanly on SIGTERM so --cpu-prof and similar exit hooks run, and when the driver that started us is
// gone (our stdin pipe closes), so a killed benchmark leaves nothing listening.
process.on('SIGTERM', () => process.exit(0));
if (!process.stdin.isTTY) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
