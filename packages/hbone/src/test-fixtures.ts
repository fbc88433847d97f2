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

export interface RawFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** A hand-driven HTTP/2 client over mutual TLS that records every frame the server sends. */
export class RawH2 {
  readonly frames: RawFrame[] = [];
  readonly closed: Promise<void>;
  #buf = Buffer.alloc(0);

  private constructor(readonly socket: import('node:tls').TLSSocket) {
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      while (this.#buf.length >= 9) {
        const len = this.#buf.readUIntBE(0, 3);
        if (this.#buf.length < 9 + len) break;
        this.frames.push({
          type: this.#buf[3] ?? 0,
          flags: this.#buf[4] ?? 0,
          streamId: this.#buf.readUInt32BE(5) & 0x7fffffff,
          payload: this.#buf.subarray(9, 9 + len),
        });
        this.#buf = this.#buf.subarray(9 + len);
      }
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async connect(port: number, creds: import('./credentials.js').HboneCredentials): Promise<RawH2> {
    const { connect } = await import('node:tls');
    const socket = connect({
      port,
      host: '127.0.0.1',
      secureContext: creds.secureContext(),
      ALPNProtocols: ['h2'],
      rejectUnauthorized: false,
    });
    const raw = new RawH2(socket);
    await once(socket, 'secureConnect');
    socket.write(Buffer.concat([H2_PREFACE, h2frame(FRAME.SETTINGS, 0, 0), h2frame(FRAME.SETTINGS, 1, 0)]));
    return raw;
  }

  /** HEADERS for a CONNECT to `authority` on `streamId`. */
  static connectHeaders(streamId: number, authority: string): Buffer {
    return h2frame(
      FRAME.HEADERS,
      0x4,
      streamId,
      hpack([
        [':method', 'CONNECT'],
        [':authority', authority],
      ]),
    );
  }

  /** The error code of the GOAWAY the server sent, if any. */
  goawayCode(): number | undefined {
    const g = this.frames.find((f) => f.type === FRAME.GOAWAY);
    return g?.payload.readUInt32BE(4);
  }

  /** Writes, ignoring errors once the server has hung up. */
  write(data: Buffer): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(data);
  }
}
