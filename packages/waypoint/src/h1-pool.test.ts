import { once } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { H1Connection, UpstreamExchange } from './h1-connection.js';
import { H1Pool } from './h1-pool.js';
import type { Endpoint } from './mesh-view.js';
import { tcpConnector } from './upstream.js';

/** Collects one response; resolves when it ends or fails. */
class Collect implements UpstreamExchange {
  status = 0;
  body = '';
  error: Error | undefined;
  stale = false;
  /** Answer every body chunk with "stop reading" (a slow client). */
  pushBack = false;
  readonly done: Promise<void>;
  #resolve!: () => void;
  constructor() {
    this.done = new Promise((r) => {
      this.#resolve = r;
    });
  }
  onResponseHead(status: number, _reason: string, _headers: IncomingHttpHeaders): void {
    this.status = status;
  }
  onResponseData(chunk: Buffer): boolean {
    this.body += chunk.toString();
    return !this.pushBack;
  }
  onResponseEnd(): void {
    this.#resolve();
  }
  onUpstreamError(err: Error, stale: boolean): void {
    this.error = err;
    this.stale = stale;
    this.#resolve();
  }
  onUpstreamDrain(): void {}
  onUpstreamReadDone(): void {}
}

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** Answers every request with 200 "ok" unless `hold` keeps the answer back. */
async function upstream(
  hold?: (s: Socket, answer: () => void) => void,
): Promise<{ ep: Endpoint; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    s.on('data', () => {
      const answer = () => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      if (hold === undefined) answer();
      else hold(s, answer);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return {
    ep: { ip: '127.0.0.1', port: (server.address() as AddressInfo).port, workload: undefined },
    sockets,
  };
}

async function get(pool: H1Pool, pushBack = false): Promise<Collect> {
  const got = pool.acquire();
  const conn: H1Connection = got instanceof Promise ? await got : got;
  const c = new Collect();
  c.pushBack = pushBack;
  conn.send(c, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n', false, false);
  await c.done;
  return c;
}

describe('H1Pool', () => {
  it('queues requests beyond the connection cap and hands them freed connections', async () => {
    const held: (() => void)[] = [];
    const { ep, sockets } = await upstream((_s, answer) => held.push(answer));
    const pool = new H1Pool(ep, { connector: tcpConnector(), maxConnections: 2, maxHeadBytes: 4096 });
    const results = [get(pool), get(pool), get(pool)];
    for (let i = 0; i < 200 && held.length < 2; i++) await new Promise((r) => setImmediate(r));
    expect(sockets.length).toBe(2);
    expect(pool.open).toBe(2);
    // Answer the first two; the third request then runs on one of the freed connections.
    for (const answer of held.splice(0)) answer();
    for (let i = 0; i < 200 && held.length < 1; i++) await new Promise((r) => setImmediate(r));
    for (const answer of held.splice(0)) answer();
    const done = await Promise.all(results);
    expect(done.map((c) => c.body)).toEqual(['ok', 'ok', 'ok']);
    expect(sockets.length).toBe(2);
    expect(pool.idle).toBe(2);
    pool.close();
  });

  it('a connection paused for backpressure as its response ended goes back to the pool reading again', async () => {
    const { ep, sockets } = await upstream();
    const pool = new H1Pool(ep, { connector: tcpConnector(), maxConnections: 1, maxHeadBytes: 4096 });
    // The whole response arrives in one read while the exchange asks to stop reading.
    expect((await get(pool, true)).body).toBe('ok');
    expect((await get(pool)).body).toBe('ok');
    expect((await get(pool, true)).body).toBe('ok');
    expect((await get(pool)).body).toBe('ok');
    expect(sockets.length).toBe(1);
    pool.close();
  });

  it('closes connections idle since before the sweep cutoff, keeps newer ones', async () => {
    const { ep, sockets } = await upstream();
    const pool = new H1Pool(ep, { connector: tcpConnector(), maxConnections: 8, maxHeadBytes: 4096 });
    await get(pool);
    expect(pool.idle).toBe(1);
    pool.sweep(Date.now() - 60_000);
    expect(pool.idle).toBe(1);
    pool.sweep(Date.now() + 1);
    expect(pool.idle).toBe(0);
    expect(pool.open).toBe(0);
    await once(sockets[0] as Socket, 'close');
    pool.close();
  });

  it('drops an idle connection the upstream closed, and fails queued requests when closed', async () => {
    const { ep, sockets } = await upstream();
    const pool = new H1Pool(ep, { connector: tcpConnector(), maxConnections: 1, maxHeadBytes: 4096 });
    await get(pool);
    (sockets[0] as Socket).end();
    for (let i = 0; i < 200 && pool.open > 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(pool.open).toBe(0);
    expect((await get(pool)).body).toBe('ok');
    expect(sockets.length).toBe(2);
    // Busy connection + a waiter: closing the pool rejects the waiter.
    const busy = pool.acquire() as H1Connection;
    busy.send(new Collect(), 'GET / HTTP/1.1\r\n\r\n', false, false);
    const waiting = pool.acquire();
    pool.close();
    await expect(waiting).rejects.toThrow(/pool closed/);
  });
});
