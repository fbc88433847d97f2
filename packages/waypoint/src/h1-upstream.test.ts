// The lean HTTP/1.1 upstream client (h1-pool, h1-connection, h1-forward) behind the engine, against raw
// TCP upstreams that misbehave on purpose.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Agent, createServer as createHttpServer, request } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bodyKind, upstreamRequestHead } from './h1-request-head.js';
import { upstreamRequestHeaders } from './headers.js';
import { type Harness, harness, sendHttp } from './test-fixtures.js';

/** A raw TCP upstream: `onRequest` sees each connection's n-th request head (0-based). */
async function rawUpstream(
  onRequest: (socket: Socket, head: string, n: number) => void,
): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    connections++;
    let n = 0;
    let buf = '';
    socket.on('error', () => {});
    socket.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end !== -1; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        onRequest(socket, head, n++);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, connections: () => connections };
}

const OK = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

async function through(
  upstreamPort: number,
  limits: Record<string, number> = {},
): Promise<{ h: Harness; port: number }> {
  const h = await harness(upstreamPort, { waypoint: { limits } as never });
  cleanup.push(() => h.close());
  return { h, port: await h.frontDoor() };
}

const NO_EDITS = { remove: [], set: [] };

/** Header lines of a serialised head as sorted "name: value" strings (x-request-id's value masked). */
function lines(head: string): string[] {
  return head
    .split('\r\n')
    .slice(1)
    .filter((l) => l.length > 0)
    .map((l) => (l.startsWith('x-request-id: ') && l.length === 50 ? 'x-request-id: <uuid>' : l))
    .sort();
}

describe('request head serialisation', () => {
  it('writes one head, adds content-length: 0 to a bodiless POST and chunked framing when asked', () => {
    const head = upstreamRequestHead('POST', '/a', { host: 'x', 'x-request-id': 'r1' }, NO_EDITS, {
      dropExpect: false,
      body: 'none',
    });
    expect(head).toBe(
      'POST /a HTTP/1.1\r\nhost: x\r\nx-request-id: r1\r\nx-forwarded-proto: http\r\ncontent-length: 0\r\n\r\n',
    );
    expect(
      upstreamRequestHead('GET', '/', { host: 'x', 'x-request-id': 'r' }, NO_EDITS, {
        dropExpect: false,
        body: 'none',
      }),
    ).toBe('GET / HTTP/1.1\r\nhost: x\r\nx-request-id: r\r\nx-forwarded-proto: http\r\n\r\n');
    expect(
      upstreamRequestHead('PUT', '/', { 'transfer-encoding': 'chunked' }, NO_EDITS, {
        dropExpect: false,
        body: 'chunked',
      }),
    ).toMatch(/\r\ntransfer-encoding: chunked\r\n\r\n$/);
  });

  it.each([
    ['plain', { host: 'a', 'x-ok': 'y', cookie: 'c=1; d=2' }, NO_EDITS, false],
    [
      'hop-by-hop and Connection-listed names',
      {
        host: 'a',
        connection: 'keep-alive, X-Secret',
        'x-secret': '1',
        'keep-alive': '5',
        te: 'gzip',
        'proxy-authorization': 'p',
        'transfer-encoding': 'chunked',
        upgrade: 'h2c',
        'x-ok': 'y',
      },
      NO_EDITS,
      false,
    ],
    ['expect dropped', { host: 'a', expect: '100-continue', 'content-length': '3' }, NO_EDITS, true],
    [
      'policy edits (token header removed, claims set, an existing header overwritten)',
      { host: 'a', authorization: 'Bearer t', 'x-claim': 'old', 'x-forwarded-proto': 'https' },
      {
        remove: ['authorization'],
        set: [
          { name: 'x-claim', value: 'alice' },
          { name: 'x-new', value: 'n' },
        ],
      },
      false,
    ],
    ['a client request id kept', { host: 'a', 'x-request-id': 'abc' }, NO_EDITS, false],
  ])('the same headers as upstreamRequestHeaders: %s', (_name, headers, edits, dropExpect) => {
    const fused = upstreamRequestHead('GET', '/p', headers, edits, { dropExpect, body: 'none' }) as string;
    const viaObject = upstreamRequestHeaders(headers, edits, { dropExpect });
    const expected = Object.entries(viaObject)
      .map(([k, v]) => `${k}: ${String(v)}`)
      .map((l) => (l.startsWith('x-request-id: ') && l.length === 50 ? 'x-request-id: <uuid>' : l))
      .sort();
    expect(fused.startsWith('GET /p HTTP/1.1\r\n')).toBe(true);
    expect(lines(fused)).toEqual(expected);
  });

  it('refuses a policy-set header with CR/LF (it cannot inject a second request) or a bad name', () => {
    const inject = { remove: [], set: [{ name: 'x-user', value: 'a\r\nGET /admin HTTP/1.1' }] };
    expect(upstreamRequestHead('GET', '/', {}, inject, { dropExpect: false, body: 'none' })).toBeUndefined();
    const badName = { remove: [], set: [{ name: 'bad name', value: 'a' }] };
    expect(upstreamRequestHead('GET', '/', {}, badName, { dropExpect: false, body: 'none' })).toBeUndefined();
  });

  it('finds the body framing of a request', () => {
    expect(bodyKind({})).toBe('none');
    expect(bodyKind({ 'content-length': '0' })).toBe('none');
    expect(bodyKind({ 'content-length': '5' })).toBe('length');
    expect(bodyKind({ 'transfer-encoding': 'chunked' })).toBe('chunked');
  });
});

describe('lean HTTP/1.1 upstream client', () => {
  it('reuses one keep-alive upstream connection and retires it on connection: close', async () => {
    let closeNext = false;
    const up = await rawUpstream((s) => {
      s.write(closeNext ? 'HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok' : OK);
      if (closeNext) s.end();
    });
    cleanup.push(() => up.server.close());
    const { port } = await through(up.port);
    for (let i = 0; i < 5; i++) expect((await sendHttp(port, 'GET', `/k/${i}`)).body.toString()).toBe('ok');
    expect(up.connections()).toBe(1);
    closeNext = true;
    expect((await sendHttp(port, 'GET', '/close')).status).toBe(200);
    closeNext = false;
    expect((await sendHttp(port, 'GET', '/after')).status).toBe(200);
    expect(up.connections()).toBe(2);
  });

  it('resends a bodiless GET once when the pooled connection turns out closed, but not a POST with a body', async () => {
    const up = await rawUpstream((s, _head, n) => {
      // Every connection answers its first request and drops the second without a byte (a stale keep-alive).
      if (n === 0) s.write(OK);
      else s.destroy();
    });
    cleanup.push(() => up.server.close());
    const { port } = await through(up.port);
    expect((await sendHttp(port, 'GET', '/first')).status).toBe(200);
    const r = await sendHttp(port, 'GET', '/second');
    expect(r.status).toBe(200);
    expect(up.connections()).toBe(2);
    const post = await sendHttp(port, 'POST', '/pay', { body: 'amount=5' });
    expect(post.status).toBe(503);
    expect(post.body.toString()).toMatch(/reset reason: connection termination/);
  });

  it('answers 504 "upstream request timeout" when the upstream does not answer in time', async () => {
    const up = await rawUpstream(() => {});
    cleanup.push(() => up.server.close());
    const { port } = await through(up.port, { requestTimeoutMs: 200 });
    const r = await sendHttp(port, 'GET', '/slow');
    expect(r.status).toBe(504);
    expect(r.body.toString()).toBe('upstream request timeout');
  });

  it('answers 503 to a response that is both chunked and Content-Length framed, and does not reuse it', async () => {
    const up = await rawUpstream((s, head) => {
      if (head.startsWith('GET /smuggle'))
        s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 4\r\n\r\n0\r\n\r\n');
      else s.write(OK);
    });
    cleanup.push(() => up.server.close());
    const { port } = await through(up.port);
    expect((await sendHttp(port, 'GET', '/smuggle')).status).toBe(503);
    expect((await sendHttp(port, 'GET', '/fine')).status).toBe(200);
    expect(up.connections()).toBe(2);
  });

  it('passes 1xx interim responses over, HEAD and 204 have no body, until-close bodies end with the connection', async () => {
    const up = await rawUpstream((s, head) => {
      if (head.startsWith('HEAD')) s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n');
      else if (head.startsWith('GET /204')) s.write('HTTP/1.1 204 No Content\r\n\r\n');
      else if (head.startsWith('GET /early'))
        s.write(
          'HTTP/1.1 103 Early Hints\r\nlink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok',
        );
      else s.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end');
    });
    cleanup.push(() => up.server.close());
    const { port } = await through(up.port);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanup.push(() => agent.destroy());
    const head = await sendHttp(port, 'HEAD', '/', { agent });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('100');
    expect((await sendHttp(port, 'GET', '/204', { agent })).status).toBe(204);
    expect((await sendHttp(port, 'GET', '/early', { agent })).body.toString()).toBe('ok');
    expect((await sendHttp(port, 'GET', '/close', { agent })).body.toString()).toBe('until the end');
  });

  it('an early answer while the upload is held back still lets the connection serve its next request', async () => {
    const up = await rawUpstream((s, head) => {
      if (head.startsWith('PUT')) {
        // Stop reading the body (the waypoint's writes back up), answer at once, then close.
        s.pause();
        s.end('HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      } else s.write(OK);
    });
    cleanup.push(() => up.server.close());
    const { port } = await through(up.port);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanup.push(() => agent.destroy());
    const big = await sendHttp(port, 'PUT', '/upload', { body: randomBytes(8 * 1024 * 1024), agent });
    expect(big.status).toBe(413);
    const next = await sendHttp(port, 'GET', '/after', { agent });
    expect(next.status).toBe(200);
  });

  it('decodes a chunked response and forwards a chunked request body, 4 MiB each way, with backpressure', async () => {
    const payload = randomBytes(4 * 1024 * 1024);
    const digest = createHash('sha256').update(payload).digest('hex');
    let seenTe = '';
    const app = createHttpServer((req, res) => {
      seenTe = String(req.headers['transfer-encoding']);
      const h = createHash('sha256');
      req.on('data', (c: Buffer) => h.update(c));
      req.on('end', () => {
        res.writeHead(200, { 'x-upload': h.digest('hex') });
        // Written in pieces without a length: chunked towards the waypoint.
        for (let i = 0; i < 16; i++) res.write(payload.subarray(i * 262_144, (i + 1) * 262_144));
        res.end();
      });
    });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    cleanup.push(() => app.close());
    const { port } = await through((app.address() as AddressInfo).port);
    const r = await new Promise<{ upload: string; down: string }>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: '/up',
        headers: { host: 'payments' },
      });
      req.on('response', (res) => {
        const h = createHash('sha256');
        // A slow reader: pause between chunks so the waypoint must hold the upstream back.
        res.on('data', (c: Buffer) => {
          h.update(c);
          res.pause();
          setImmediate(() => res.resume());
        });
        res.on('end', () => resolve({ upload: String(res.headers['x-upload']), down: h.digest('hex') }));
      });
      req.on('error', reject);
      for (let i = 0; i < 4; i++) req.write(payload.subarray(i * 1_048_576, (i + 1) * 1_048_576));
      req.end();
    });
    expect(seenTe).toBe('chunked');
    expect(r.upload).toBe(digest);
    expect(r.down).toBe(digest);
  });
});
