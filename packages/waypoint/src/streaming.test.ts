import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import { connect, createServer as createH2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { harness } from './test-fixtures.js';

const body = randomBytes(8 * 1024 * 1024);
const digest = createHash('sha256').update(body).digest('hex');

function sha(chunks: Buffer[]): string {
  return createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
}

describe('streaming bodies through the waypoint', () => {
  it('HTTP/1.1: an 8 MiB upload streams to the app and its 8 MiB echo streams back', async () => {
    const app = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const h = await harness((app.address() as AddressInfo).port);
    const port = await h.frontDoor();
    const got = await new Promise<Buffer[]>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: '/echo',
        headers: { host: 'payments' },
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(chunks));
      });
      req.on('error', reject);
      // Written in pieces (chunked), so the waypoint forwards a body of unknown length.
      for (let i = 0; i < 8; i++) req.write(body.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));
      req.end();
    });
    expect(sha(got)).toBe(digest);
    await h.close();
    app.close();
  });

  it('HTTP/2: an 8 MiB upload and its echo stream through, with flow control on both legs', async () => {
    const app = createH2Server();
    app.on('stream', (stream) => {
      stream.respond({ ':status': 200 });
      stream.pipe(stream);
    });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const h = await harness((app.address() as AddressInfo).port);
    const port = await h.frontDoor();
    const session = connect(`http://127.0.0.1:${port}`);
    const got = await new Promise<Buffer[]>((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': '/echo', ':authority': 'payments' });
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(chunks));
      req.on('error', reject);
      req.end(body);
    });
    session.close();
    expect(sha(got)).toBe(digest);
    await h.close();
    app.close();
  });
});
