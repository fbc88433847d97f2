import { describe, expect, it } from 'vitest';
import { downstreamResponseHeaders, grpcStatusFor, isGrpc, upstreamRequestHeaders } from './headers.js';

const none = { remove: [], set: [] };

describe('upstreamRequestHeaders', () => {
  it('drops hop-by-hop headers and those the Connection header names, keeps end-to-end ones', () => {
    const out = upstreamRequestHeaders(
      {
        host: 'a',
        connection: 'keep-alive, X-Secret',
        'x-secret': '1',
        'keep-alive': '5',
        te: 'gzip',
        'proxy-authorization': 'p',
        'x-ok': 'y',
        'transfer-encoding': 'chunked',
      },
      none,
    );
    expect(out).toMatchObject({ host: 'a', 'x-ok': 'y', 'x-forwarded-proto': 'http' });
    for (const h of [
      'connection',
      'x-secret',
      'keep-alive',
      'te',
      'proxy-authorization',
      'transfer-encoding',
    ])
      expect(out[h]).toBeUndefined();
    expect(String(out['x-request-id'])).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps an existing x-request-id and x-forwarded-proto', () => {
    const out = upstreamRequestHeaders({ 'x-request-id': 'r1', 'x-forwarded-proto': 'https' }, none);
    expect(out['x-request-id']).toBe('r1');
    expect(out['x-forwarded-proto']).toBe('https');
  });

  it('keeps Upgrade for passthrough, te: trailers and pseudo-headers for HTTP/2, drops Expect when answered', () => {
    expect(
      upstreamRequestHeaders({ connection: 'upgrade', upgrade: 'websocket' }, none, { upgrade: true }),
    ).toMatchObject({ connection: 'upgrade', upgrade: 'websocket' });
    const h2 = upstreamRequestHeaders({ ':method': 'POST', ':path': '/x', te: 'trailers' }, none, {
      h2: true,
    });
    expect(h2).toMatchObject({ ':method': 'POST', ':path': '/x', te: 'trailers' });
    expect(upstreamRequestHeaders({ ':path': '/x' }, none)[':path']).toBeUndefined();
    expect(
      upstreamRequestHeaders({ expect: '100-continue' }, none, { dropExpect: true }).expect,
    ).toBeUndefined();
  });

  it('applies the JWT edits: removes the token header, sets claim headers', () => {
    const out = upstreamRequestHeaders(
      { authorization: 'Bearer t', 'x-sub': 'spoofed' },
      { remove: ['authorization'], set: [{ name: 'x-sub', value: 'alice' }] },
    );
    expect(out.authorization).toBeUndefined();
    expect(out['x-sub']).toBe('alice');
  });
});

describe('downstreamResponseHeaders', () => {
  it('drops hop-by-hop headers; keeps :status only for HTTP/2', () => {
    const h = {
      ':status': '200',
      connection: 'close',
      'keep-alive': 'x',
      'set-cookie': ['a=1', 'b=2'],
      'content-type': 't',
    } as never;
    expect(downstreamResponseHeaders(h, false)).toEqual({
      'set-cookie': ['a=1', 'b=2'],
      'content-type': 't',
    });
    expect(downstreamResponseHeaders(h, true)).toEqual({
      ':status': '200',
      'set-cookie': ['a=1', 'b=2'],
      'content-type': 't',
    });
  });
});

describe('gRPC', () => {
  it.each([
    [401, 16],
    [403, 7],
    [503, 14],
    [504, 14],
    [404, 12],
    [400, 13],
    [500, 2],
  ])('HTTP %i → grpc-status %i', (http, grpc) => {
    expect(grpcStatusFor(http)).toBe(grpc);
  });

  it('recognises gRPC content types', () => {
    expect(isGrpc({ 'content-type': 'application/grpc+proto' })).toBe(true);
    expect(isGrpc({ 'content-type': 'application/json' })).toBe(false);
    expect(isGrpc({})).toBe(false);
  });
});
