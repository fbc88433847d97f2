import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePairs, type Relay, startRelay } from './relay.js';

/** A port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen({ port: 0, host: '127.0.0.1' }, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('demo relay (TCP → Unix socket → TCP)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-relay-'));
  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  it('carries bytes both ways, half-close included, through both halves', async () => {
    // The "pilot": echoes, then ends after the client ended (half-close must cross the relay).
    const echo: Server = createServer({ allowHalfOpen: true }, (s) => {
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen({ port: 0, host: '127.0.0.1' }, () => r()));
    closers.push(() => new Promise((r) => echo.close(() => r())));
    const target = (echo.address() as { port: number }).port;
    const socket = join(dir, 'p.sock');
    // In the demo both halves use the same port number (one in the pod's netns, one on the host's
    // loopback); here both live on the host, so the inner half takes another port.
    const outer: Relay = await startRelay('outer', [{ port: target, socket }]);
    closers.push(() => outer.close());
    const innerPort = await freePort();
    const inner: Relay = await startRelay('inner', [{ port: innerPort, socket }]);
    closers.push(() => inner.close());

    const reply = await new Promise<string>((resolve, reject) => {
      const c = connect({ port: innerPort, host: '127.0.0.1', allowHalfOpen: true });
      let got = '';
      c.setEncoding('utf8');
      c.on('data', (d: string) => {
        got += d;
      });
      c.on('end', () => resolve(got));
      c.on('error', reject);
      c.end('hello through the relay');
    });
    expect(reply).toBe('hello through the relay');
  });

  it('parses <port>=<socket> pairs and rejects bad ones', () => {
    expect(parsePairs(['15010=/run/x/15010.sock'])).toEqual([{ port: 15010, socket: '/run/x/15010.sock' }]);
    expect(() => parsePairs(['15010'])).toThrow(/bad relay pair/);
    expect(() => parsePairs(['x=/a'])).toThrow(/bad relay pair/);
  });
});
