// Shared by this package's tests (not exported from index.ts).
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { TestCa } from '@weft/testkit';
import { type HboneCredentials, staticCredentials } from './credentials.js';

export interface Mesh {
  ca: TestCa;
  server: HboneCredentials;
  client: HboneCredentials;
  serverId: string;
  clientId: string;
}

let cached: Promise<Mesh> | undefined;

/** A CA with a server and a client workload identity in cluster.local (made once per test file). */
export function mesh(): Promise<Mesh> {
  cached ??= (async () => {
    const ca = await TestCa.create();
    const s = await ca.workload('prod', 'server');
    const c = await ca.workload('prod', 'client');
    const creds = (w: typeof s): HboneCredentials =>
      staticCredentials({
        identity: w.spiffeId,
        certChainPem: w.chainPem,
        keyPem: w.keyPem,
        rootsPem: ca.rootPem,
      });
    return { ca, server: creds(s), client: creds(c), serverId: s.spiffeId, clientId: c.spiffeId };
  })();
  return cached;
}

/** A TCP echo server that passes half-close on (ends after echoing when the client ends). */
export async function echoServer(): Promise<{ port: number; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, server, sockets };
}

/** Reads everything until end, as a Buffer. */
export async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
