// Mixed HTTP/1.1 traffic through the engine over shared keep-alive connections on both sides: small and
// large responses (chunked and Content-Length), uploads (Content-Length and chunked), HEAD, 204, upstream
// `connection: close`, slow answers, clients that give up mid-response or mid-upload, and an upstream that
// dies mid-body, with an upstream that drops idle connections after 50 ms (stale keep-alive races).
// Every request that is not cut on purpose must get its full, correct answer, and nothing may hang.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { harness } from './test-fixtures.js';

const big = randomBytes(1 << 20);
const bigSha = createHash('sha256').update(big).digest('hex');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const KINDS = [
  'small',
  'big',
  'length',
  'close',
  'slow',
  'echo',
  'echoChunked',
  'head',
  'none',
  'abort',
  'upstreamDies',
  'abortUpload',
] as const;
type Kind = (typeof KINDS)[number];
const CUT: readonly Kind[] = ['abort', 'upstreamDies', 'abortUpload'];

describe('mixed HTTP/1.1 traffic through the lean upstream pool', () => {
  it('answers every request correctly with 20 concurrent keep-alive clients', async () => {
    const app = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const kind = (req.url ?? '/').slice(1) as Kind;
        if (kind === 'big') {
          res.writeHead(200);
          for (let i = 0; i < 16; i++) res.write(big.subarray(i * 65536, (i + 1) * 65536));
          res.end();
        } else if (kind === 'length' || kind === 'head') {
          res.writeHead(200, { 'content-length': big.length });
          res.end(big);
        } else if (kind === 'upstreamDies') {
          res.writeHead(200, { 'content-length': big.length });
          res.write(big.subarray(0, 100_000));
          setImmediate(() => res.destroy());
        } else if (kind === 'close') {
          res.writeHead(200, { connection: 'close', 'content-length': 2 });
          res.end('ok');
        } else if (kind === 'slow') {
          setTimeout(() => res.end('ok'), 10);
        } else if (kind === 'echo' || kind === 'echoChunked') {
          const body = Buffer.concat(chunks);
          res.writeHead(200, { 'x-sha': sha(body) });
          res.end(body);
        } else if (kind === 'none') {
          res.writeHead(204);
          res.end();
        } else res.end('small');
      });
      req.on('error', () => {});
    });
    app.keepAliveTimeout = 50;
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const h = await harness((app.address() as AddressInfo).port);
    const port = await h.frontDoor();
    const agent = new Agent({ keepAlive: true, maxSockets: 20 });
    const failures: string[] = [];
    let ok = 0;

    const one = (i: number): Promise<void> =>
      new Promise((resolve) => {
        const kind = KINDS[i % KINDS.length] as Kind;
        const upload = kind === 'echo' || kind === 'echoChunked' || kind === 'abortUpload';
        const body = upload ? randomBytes(1 + ((i * 7919) % 200_000)) : undefined;
        const headers: Record<string, string> = { host: 'payments' };
        if (kind === 'echo' && body !== undefined) headers['content-length'] = String(body.length);
        const req = request({
          host: '127.0.0.1',
          port,
          method: upload ? 'POST' : kind === 'head' ? 'HEAD' : 'GET',
          path: `/${kind === 'abortUpload' ? 'echo' : kind}`,
          headers,
          agent,
        });
        let settled = false;
        const settle = (failure?: string): void => {
          if (settled) return;
          settled = true;
          if (failure !== undefined && !CUT.includes(kind)) failures.push(`${i} ${kind}: ${failure}`);
          resolve();
        };
        req.on('error', (err) => settle(err.message));
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => {
            chunks.push(c);
            if (kind === 'abort' && chunks.length > 2) {
              req.destroy();
              settle();
            }
          });
          res.on('error', () => {});
          res.on('close', () => {
            if (!res.complete) settle('response cut');
          });
          res.on('end', () => {
            const got = Buffer.concat(chunks);
            const want =
              kind === 'big' || kind === 'length'
                ? sha(got) === bigSha
                : kind === 'echo' || kind === 'echoChunked'
                  ? sha(got) === res.headers['x-sha'] && got.length === body?.length
                  : kind === 'head'
                    ? got.length === 0 && res.headers['content-length'] === String(big.length)
                    : kind === 'none'
                      ? got.length === 0
                      : got.length > 0;
            const status = kind === 'none' ? 204 : 200;
            if (CUT.includes(kind)) settle();
            else if (res.statusCode === status && want) {
              ok++;
              settle();
            } else settle(`status ${res.statusCode}, ${got.length} bytes`);
          });
        });
        if (kind === 'abortUpload') {
          req.write(randomBytes(300_000));
          setImmediate(() => {
            req.destroy();
            settle();
          });
        } else if (kind === 'echoChunked' && body !== undefined) {
          req.write(body.subarray(0, body.length >> 1));
          req.end(body.subarray(body.length >> 1));
        } else req.end(body);
      });

    const total = KINDS.length * 25;
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < total) await one(next++);
      }),
    );
    expect(failures).toEqual([]);
    expect(ok).toBe(total - 25 * CUT.length);
    agent.destroy();
    await h.close();
    app.close();
  }, 60_000);
});
