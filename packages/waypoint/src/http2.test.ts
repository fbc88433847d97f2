import { once } from 'node:events';
import { connect, createServer, type Http2Server, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, type Harness, harness, NS } from './test-fixtures.js';

interface H2Reply {
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders | undefined;
  body: string;
}

function h2request(port: number, headers: Record<string, string>, body?: string): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({ ':authority': 'payments', ...headers });
    let replyHeaders: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    let text = '';
    req.on('response', (h) => {
      replyHeaders = h;
    });
    req.on('trailers', (t) => {
      trailers = t;
    });
    req.on('data', (c: Buffer) => {
      text += c.toString();
    });
    req.on('end', () => {
      session.close();
      resolve({ headers: replyHeaders, trailers, body: text });
    });
    req.on('error', reject);
    req.end(body);
  });
}

let backend: Http2Server;
let backendPort: number;

beforeAll(async () => {
  backend = createServer();
  backend.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      if (String(headers['content-type']).startsWith('application/grpc')) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'ok' }));
        stream.end(Buffer.concat(chunks));
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(
        JSON.stringify({
          path: headers[':path'],
          method: headers[':method'],
          body: Buffer.concat(chunks).toString(),
          headers,
        }),
      );
    });
  });
  backend.listen(0, '127.0.0.1');
  await once(backend, 'listening');
  backendPort = (backend.address() as AddressInfo).port;
});

afterAll(() => backend.close());

const denyMethodPolicy = config({
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name: 'deny-refund', namespace: NS },
  spec: {
    targetRefs: [{ kind: 'Service', group: '', name: 'payments' }],
    action: 'DENY',
    rules: [{ to: [{ operation: { paths: ['/pay.Payments/Refund', '/denied'] } }] }],
  },
});

describe('HTTP/2 and gRPC through the waypoint engine', () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    h = await harness(backendPort, { configs: [denyMethodPolicy] });
    port = await h.frontDoor();
  });
  afterAll(() => h.close());

  it('forwards an HTTP/2 prior-knowledge request with its body', async () => {
    const r = await h2request(port, { ':method': 'POST', ':path': '/charge' }, 'amount=7');
    expect(r.headers[':status']).toBe(200);
    const seen = JSON.parse(r.body) as { path: string; body: string; headers: Record<string, string> };
    expect(seen).toMatchObject({ path: '/charge', body: 'amount=7' });
    expect(seen.headers[':authority']).toBe('payments');
  });

  it('passes gRPC trailers through on an allowed call', async () => {
    const r = await h2request(
      port,
      {
        ':method': 'POST',
        ':path': '/pay.Payments/Charge',
        'content-type': 'application/grpc',
        te: 'trailers',
      },
      'msg',
    );
    expect(r.headers[':status']).toBe(200);
    expect(r.body).toBe('msg');
    expect(r.trailers?.['grpc-status']).toBe('0');
    expect(r.trailers?.['grpc-message']).toBe('ok');
  });

  it('denies a gRPC call with HTTP 200 and grpc-status 7 (trailers-only)', async () => {
    const r = await h2request(
      port,
      {
        ':method': 'POST',
        ':path': '/pay.Payments/Refund',
        'content-type': 'application/grpc',
        te: 'trailers',
      },
      'msg',
    );
    expect(r.headers[':status']).toBe(200);
    expect(r.headers['grpc-status']).toBe('7');
    expect(decodeURIComponent(String(r.headers['grpc-message']))).toBe('RBAC: access denied');
    expect(r.body).toBe('');
  });

  it('denies a plain HTTP/2 request with 403 "RBAC: access denied"', async () => {
    const r = await h2request(port, { ':method': 'GET', ':path': '/denied' });
    expect(r.headers[':status']).toBe(403);
    expect(r.body).toBe('RBAC: access denied');
  });

  it('carries many concurrent streams on one connection', async () => {
    const session = connect(`http://127.0.0.1:${port}`);
    const results = await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) =>
          new Promise<number>((resolve, reject) => {
            // END_STREAM on the HEADERS frame (no body), as h2load and browsers send a GET.
            const req = session.request(
              { ':method': 'GET', ':path': `/c/${i}`, ':authority': 'payments' },
              { endStream: true },
            );
            req.on('response', (hd) => resolve(Number(hd[':status'])));
            req.on('error', reject);
            req.resume();
          }),
      ),
    );
    session.close();
    expect(results.every((s) => s === 200)).toBe(true);
  });
});

describe('HTTP/2 on a port declared gRPC', () => {
  it('answers gRPC calls with UNAVAILABLE (14) when there is no endpoint', async () => {
    const h = await harness(backendPort, { appProtocol: 'GRPC' });
    h.view.update({ workloads: [] });
    const port = await h.frontDoor();
    const r = await h2request(
      port,
      { ':method': 'POST', ':path': '/pay.Payments/Charge', 'content-type': 'application/grpc' },
      'x',
    );
    expect(r.headers[':status']).toBe(200);
    expect(r.headers['grpc-status']).toBe('14');
    await h.close();
  });
});

describe('HTTP/2 client, service port declared HTTP/1.1', () => {
  it('talks HTTP/1.1 to the endpoint (as Envoy does for an `http` port)', async () => {
    const { createServer: createH1 } = await import('node:http');
    const h1 = createH1((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () =>
        res.end(`h1 ${req.httpVersion} ${req.method} ${req.url} host=${req.headers.host} body=${body}`),
      );
    });
    h1.listen(0, '127.0.0.1');
    await once(h1, 'listening');
    const h = await harness((h1.address() as AddressInfo).port, { appProtocol: 'HTTP11' });
    const port = await h.frontDoor();
    const post = await h2request(port, { ':method': 'POST', ':path': '/charge' }, 'x=1');
    expect(post.headers[':status']).toBe(200);
    expect(post.body).toBe('h1 1.1 POST /charge host=payments body=x=1');
    const get = await h2request(port, { ':method': 'GET', ':path': '/g' });
    expect(get.body).toBe('h1 1.1 GET /g host=payments body=');
    await h.close();
    h1.close();
  });
});
