import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { parseClientHello } from './client-hello.js';

/** The first bytes a real Node TLS client sends. */
async function captureHello(options: { servername?: string; ALPNProtocols?: string[] }): Promise<Buffer> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (s) => {
      s.once('data', (b: Buffer) => {
        resolve(b);
        s.destroy();
      });
    });
  });
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ...options });
  client.on('error', () => {});
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

describe('parseClientHello', () => {
  it('reads SNI and ALPN from a real ClientHello', async () => {
    const hello = await captureHello({ servername: 'Test.COM', ALPNProtocols: ['h2', 'http/1.1'] });
    expect(parseClientHello(hello)).toEqual({ kind: 'hello', sni: 'test.com', alpn: ['h2', 'http/1.1'] });
  });

  it('no SNI, no ALPN', async () => {
    const hello = await captureHello({});
    expect(parseClientHello(hello)).toEqual({ kind: 'hello', sni: undefined, alpn: [] });
  });

  it('asks for more on every truncation of the hello', async () => {
    const hello = await captureHello({ servername: 'a.example' });
    for (const n of [1, 3, 5, 9, 40, hello.length - 1])
      expect(parseClientHello(hello.subarray(0, n)).kind).toBe('need-more');
  });

  it('handles a hello split over two records', async () => {
    const hello = await captureHello({ servername: 'split.example', ALPNProtocols: ['http/1.1'] });
    const body = hello.subarray(5);
    const cut = 20;
    const rec = (b: Buffer) =>
      Buffer.concat([Buffer.from([0x16, 0x03, 0x01, b.length >> 8, b.length & 0xff]), b]);
    const two = Buffer.concat([rec(body.subarray(0, cut)), rec(body.subarray(cut))]);
    expect(parseClientHello(two)).toEqual({ kind: 'hello', sni: 'split.example', alpn: ['http/1.1'] });
  });

  it.each([
    ['GET / HTTP/1.1\r\n', 'not-tls'],
    ['PRI * HTTP/2.0\r\n', 'not-tls'],
    ['', 'need-more'],
  ])('%j → %s', (text, kind) => {
    expect(parseClientHello(Buffer.from(text)).kind).toBe(kind);
  });

  it('a record that is not a ClientHello is not TLS we route', () => {
    expect(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0, 0, 0])).kind).toBe('not-tls');
  });
});
