import { once } from 'node:events';
import { Agent, createServer, request, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allowOrdersCharge,
  type Harness,
  type HttpReply,
  harness,
  OTHER,
  sendHttp,
  workload,
} from './test-fixtures.js';

type Reply = Omit<HttpReply, 'body'> & { body: string };

/** sendHttp with the body as text. */
async function send(
  port: number,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string; agent?: Agent } = {},
): Promise<Reply> {
  const r = await sendHttp(port, method, path, options);
  return { ...r, body: r.body.toString() };
}

/** Sends raw bytes and reads the reply until the server closes or `until` matches. */
function raw(port: number, bytes: string, until?: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (c: Buffer) => {
      out += c.toString('latin1');
      if (until?.test(out) === true) {
        s.destroy();
        resolve(out);
      }
    });
    s.on('end', () => resolve(out));
    s.on('close', () => resolve(out));
    s.on('error', reject);
    s.write(bytes);
  });
}

let backend: Server;
let backendPort: number;
const upgraded: string[] = [];

beforeAll(async () => {
  backend = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(200, {
        'content-type': 'application/json',
        connection: 'keep-alive',
        'x-backend': 'yes',
      });
      res.end(body);
    });
  });
  backend.on('upgrade', (req, socket, head: Buffer) => {
    upgraded.push(String(req.headers.upgrade));
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n');
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });
  backend.listen(0, '127.0.0.1');
  await once(backend, 'listening');
  backendPort = (backend.address() as AddressInfo).port;
});

afterAll(() => {
  backend.closeAllConnections();
  backend.close();
});

describe('HTTP/1.1 through the waypoint engine', () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    h = await harness(backendPort);
    port = await h.frontDoor();
  });
  afterAll(() => h.close());

  it('forwards a request and its body, strips hop-by-hop headers, adds x-request-id', async () => {
    const r = await send(port, 'POST', '/charge?x=1', {
      body: 'amount=5',
      headers: { connection: 'keep-alive, x-hop', 'x-hop': '1', 'x-keep': 'k' },
    });
    expect(r.status).toBe(200);
    expect(r.headers['x-backend']).toBe('yes');
    const seen = JSON.parse(r.body) as {
      method: string;
      url: string;
      body: string;
      headers: Record<string, string>;
    };
    expect(seen).toMatchObject({ method: 'POST', url: '/charge?x=1', body: 'amount=5' });
    expect(seen.headers['x-keep']).toBe('k');
    expect(seen.headers['x-hop']).toBeUndefined();
    expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.headers.host).toBe('payments');
  });

  it('keeps the downstream connection alive across requests', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const ports = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const r = await send(port, 'GET', `/n/${i}`, { agent });
      expect(r.status).toBe(200);
    }
    const sockets = Object.values(agent.freeSockets).flat();
    for (const s of sockets) ports.add(s?.localPort ?? 0);
    expect(ports.size).toBe(1);
    agent.destroy();
  });

  it('answers 100 Continue then forwards the body', async () => {
    const r = await new Promise<Reply & { continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = request({
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: '/upload',
        headers: { expect: '100-continue', 'content-length': '5' },
      });
      req.on('continue', () => {
        continued = true;
        req.end('hello');
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, continued }));
      });
      req.on('error', reject);
    });
    expect(r.continued).toBe(true);
    expect(JSON.parse(r.body)).toMatchObject({ method: 'PUT', body: 'hello' });
    expect((JSON.parse(r.body) as { headers: Record<string, string> }).headers.expect).toBeUndefined();
  });

  it('passes an Upgrade through and then relays raw bytes', async () => {
    const out = await raw(
      port,
      'GET /ws HTTP/1.1\r\nhost: payments\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\nping',
      /ping$/,
    );
    expect(out).toMatch(/^HTTP\/1\.1 101/);
    expect(out.endsWith('ping')).toBe(true);
    expect(upgraded).toContain('echo');
  });

  it('answers 431 to oversized headers and 400 to malformed requests, and keeps serving', async () => {
    const big = await raw(
      port,
      `GET / HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(70_000)}\r\n\r\n`,
      /\r\n\r\n/,
    );
    expect(big).toMatch(/^HTTP\/1\.1 431/);
    const bad = await raw(port, 'GET / HTTP/1.1\r\nbad header line\r\n\r\n', /\r\n\r\n/);
    expect(bad).toMatch(/^HTTP\/1\.1 400/);
    expect((await send(port, 'GET', '/still-ok')).status).toBe(200);
  });

  it('proxies non-HTTP bytes as TCP', async () => {
    const echo = (await import('node:net')).createServer((s) => s.pipe(s));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const t = await harness((echo.address() as AddressInfo).port);
    const p = await t.frontDoor();
    const out = await raw(p, '\x16\x03\x01 not http', /not http$/);
    expect(out).toBe('\x16\x03\x01 not http');
    await t.close();
    echo.close();
  });
});

describe('AuthorizationPolicy at the waypoint (HTTP/1.1)', () => {
  let h: Harness;
  let orders: number;
  let other: number;
  beforeAll(async () => {
    h = await harness(backendPort, { configs: [allowOrdersCharge()] });
    orders = await h.frontDoor();
    other = await h.frontDoor({ peerIdentity: OTHER });
  });
  afterAll(() => h.close());

  it('orders POST /charge → 200, GET /charge → 403, another service account → 403', async () => {
    expect((await send(orders, 'POST', '/charge')).status).toBe(200);
    const get = await send(orders, 'GET', '/charge');
    expect(get.status).toBe(403);
    expect(get.body).toBe('RBAC: access denied');
    const inv = await send(other, 'POST', '/charge');
    expect(inv.status).toBe(403);
    expect(inv.body).toBe('RBAC: access denied');
  });

  it('applies policy changes without a restart', async () => {
    h.view.update({ configs: [] });
    expect((await send(orders, 'GET', '/charge')).status).toBe(200);
    h.view.update({ configs: [allowOrdersCharge()] });
    expect((await send(orders, 'GET', '/charge')).status).toBe(403);
  });

  it('answers 503 "no healthy upstream" when the service has no endpoint', async () => {
    h.view.update({ workloads: [], configs: [] });
    const r = await send(orders, 'GET', '/');
    expect(r.status).toBe(503);
    expect(r.body).toBe('no healthy upstream');
  });
});

describe('slow clients', () => {
  it('answers 408 to a client that does not finish its headers in time, and keeps serving others', async () => {
    const h = await harness(backendPort, { waypoint: { limits: { headersTimeoutMs: 400 } } });
    const port = await h.frontDoor();
    const started = Date.now();
    const slow = raw(port, 'GET / HTTP/1.1\r\nhost: payments\r\nx-partial: ', /\r\n\r\n/);
    expect((await send(port, 'GET', '/fast')).status).toBe(200);
    expect(await slow).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - started).toBeLessThan(5_000);
    await h.close();
  });
});

describe('endpoint choice', () => {
  it('tries another endpoint when one refuses the connection (no request byte was sent)', async () => {
    const h = await harness(backendPort);
    const dead = (await import('node:net')).createServer();
    dead.listen(0, '127.0.0.1');
    await once(dead, 'listening');
    const deadPort = (dead.address() as AddressInfo).port;
    dead.close(); // now refuses
    h.view.update({
      workloads: [
        workload('dead', '127.0.0.1', h.svc, deadPort),
        workload('payments', '127.0.0.1', h.svc, backendPort),
      ],
    });
    const port = await h.frontDoor();
    for (let i = 0; i < 8; i++)
      expect((await send(port, 'POST', `/retry/${i}`, { body: 'x' })).status).toBe(200);
    h.view.update({ workloads: [workload('dead', '127.0.0.1', h.svc, deadPort)] });
    const r = await send(port, 'GET', '/');
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/^upstream connect error or disconnect\/reset before headers/);
    await h.close();
  });
});
