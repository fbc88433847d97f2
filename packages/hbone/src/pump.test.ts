import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pump } from './pump.js';
import { readAll } from './test-fixtures.js';

/** A loopback TCP pair: [client side, server side]. */
async function socketPair(server: Server): Promise<[Socket, Socket]> {
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect({
    port: (server.address() as AddressInfo).port,
    host: '127.0.0.1',
    allowHalfOpen: true,
  });
  await once(client, 'connect');
  const [peer] = await accepted;
  return [client, peer];
}

describe('pump', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });
  async function listener(): Promise<Server> {
    const s = createServer({ allowHalfOpen: true });
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
    servers.push(s);
    return s;
  }

  it('copies both ways, passes half-close on, and counts bytes', async () => {
    const srv = await listener();
    // app ⇄ (a | pump | b) ⇄ backend
    const [app, a] = await socketPair(srv);
    const [b, backend] = await socketPair(srv);
    const done = pump(a, b);
    const payload = Buffer.alloc(3 * 1024 * 1024, 1);
    app.end(payload);
    // The backend sees the app's FIN but can still answer: half-close.
    const got = await readAll(backend);
    expect(got.length).toBe(payload.length);
    backend.end(Buffer.from('reply after half-close'));
    expect((await readAll(app)).toString()).toBe('reply after half-close');
    const result = await done;
    expect(result.bytesAtoB).toBe(payload.length);
    expect(result.bytesBtoA).toBe(22);
    expect(result.error).toBeUndefined();
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it('passes a reset on as a reset', async () => {
    const srv = await listener();
    const [app, a] = await socketPair(srv);
    const [b, backend] = await socketPair(srv);
    const done = pump(a, b);
    app.write('x');
    await once(backend, 'data');
    const backendError = once(backend, 'error').catch((e: unknown) => e);
    app.resetAndDestroy();
    const result = await done;
    expect(result.error).toBeDefined();
    const [err] = (await backendError) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNRESET');
  });

  it('applies backpressure: a stalled reader stops the writer instead of buffering without bound', async () => {
    const srv = await listener();
    const [app, a] = await socketPair(srv);
    const [b, backend] = await socketPair(srv);
    backend.pause();
    const done = pump(a, b, { bufferLimit: 256 * 1024 });
    const chunk = Buffer.alloc(64 * 1024);
    let written = 0;
    // Write until the app side stays pushed back: the pump stopped reading because b is full.
    for (let i = 0; i < 2000; i++) {
      written += chunk.length;
      if (app.write(chunk)) continue;
      const drained = await Promise.race([
        once(app, 'drain').then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 300)),
      ]);
      if (!drained) break;
    }
    expect(written).toBeLessThan(2000 * chunk.length);
    expect(b.writableLength).toBeLessThanOrEqual(256 * 1024 + chunk.length * 2);
    expect(a.isPaused()).toBe(true);
    backend.resume();
    app.end();
    backend.on('data', () => {});
    backend.on('end', () => backend.end());
    const result = await done;
    expect(result.bytesAtoB).toBeGreaterThanOrEqual(written);
  });
});
