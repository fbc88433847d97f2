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

/** Reads everything until end, as a Buffer, without destroying the stream (it may still write). */
export function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

/** An HTTP/2 frame, written by hand (tests that misbehave on purpose). */
export function h2frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK "literal header field without indexing, new name", no Huffman (short names and values only). */
export function hpack(headers: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of headers) {
    const len = (n: number): Buffer => {
      if (n < 127) return Buffer.from([n]);
      // 7-bit prefix integer continuation (RFC 7541 §5.1).
      const out = [127];
      let rest = n - 127;
      while (rest >= 128) {
        out.push((rest % 128) + 128);
        rest = Math.floor(rest / 128);
      }
      out.push(rest);
      return Buffer.from(out);
    };
    parts.push(Buffer.from([0]), len(name.length), Buffer.from(name), len(value.length), Buffer.from(value));
  }
  return Buffer.concat(parts);
}

export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
export const FRAME = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  CONTINUATION: 9,
} as const;
