import { describe, expect, it } from 'vitest';
import { duplexPair } from './duplex-pair.js';

describe('duplexPair', () => {
  it('carries bytes both ways with backpressure and passes half-close on', async () => {
    const [a, b] = duplexPair();
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    const received: Buffer[] = [];
    b.on('data', (c: Buffer) => received.push(c));
    const ended = new Promise<void>((resolve) => b.on('end', resolve));
    let drains = 0;
    a.on('drain', () => drains++);
    for (let i = 0; i < 4; i++) a.write(big.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));
    a.end();
    await ended;
    expect(Buffer.concat(received).equals(big)).toBe(true);
    // b is still writable after a half-closed.
    const back = new Promise<string>((resolve) => a.once('data', (c: Buffer) => resolve(c.toString())));
    b.write('reply');
    expect(await back).toBe('reply');
    expect(drains).toBeGreaterThanOrEqual(0);
  });

  it('destroying one end closes the other', async () => {
    const [a, b] = duplexPair();
    const closed = new Promise<void>((resolve) => b.on('close', resolve));
    a.destroy();
    await closed;
    expect(b.destroyed).toBe(true);
  });

  it('emits timeout after inactivity, like net.Socket#setTimeout', async () => {
    const [a] = duplexPair();
    const fired = new Promise<void>((resolve) => a.setTimeout(30, resolve));
    await fired;
    a.destroy();
  });
});
