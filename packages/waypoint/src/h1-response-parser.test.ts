import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ResponseParseError, ResponseParser, type ResponseSink } from './h1-response-parser.js';

interface Parsed {
  heads: { status: number; reason: string; headers: IncomingHttpHeaders; keepAlive: boolean }[];
  body: string;
  ends: boolean[];
}

function collector(): { sink: ResponseSink; out: Parsed } {
  const out: Parsed = { heads: [], body: '', ends: [] };
  return {
    out,
    sink: {
      onResponseHead: (status, reason, headers, keepAlive) =>
        out.heads.push({ status, reason, headers, keepAlive }),
      onResponseData: (chunk) => {
        out.body += chunk.toString('latin1');
      },
      onResponseEnd: (keepAlive) => out.ends.push(keepAlive),
    },
  };
}

/** Parses `wire` fed in pieces of `step` bytes (0: all at once). */
function parse(wire: string, options: { head?: boolean; step?: number; close?: boolean } = {}): Parsed {
  const { sink, out } = collector();
  const p = new ResponseParser(sink, 1024);
  p.expect(options.head === true);
  const bytes = Buffer.from(wire, 'latin1');
  const step = options.step ?? 0;
  if (step === 0) p.execute(bytes);
  else for (let i = 0; i < bytes.length; i += step) p.execute(bytes.subarray(i, i + step));
  if (options.close === true) p.finish();
  return out;
}

const CHUNKED =
  'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n' +
  '5;ext=1\r\nhello\r\n7 \r\n, world\r\n0\r\nx-trailer: t\r\n\r\n';

describe('ResponseParser framing', () => {
  it.each([1, 2, 3, 7, 0])('Content-Length body fed %i bytes at a time', (step) => {
    const r = parse('HTTP/1.1 201 Created\r\nContent-Length: 11\r\nX-A: 1\r\n\r\nhello world', { step });
    expect(r.heads).toEqual([
      { status: 201, reason: 'Created', headers: { 'content-length': '11', 'x-a': '1' }, keepAlive: true },
    ]);
    expect(r.body).toBe('hello world');
    expect(r.ends).toEqual([true]);
  });

  it.each([1, 2, 5, 0])('chunked body with extensions and trailers fed %i bytes at a time', (step) => {
    const r = parse(CHUNKED, { step });
    expect(r.body).toBe('hello, world');
    expect(r.heads[0]?.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(r.ends).toEqual([true]);
  });

  it('skips 1xx interim responses', () => {
    const r = parse(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok',
    );
    expect(r.heads.map((h) => h.status)).toEqual([200]);
    expect(r.body).toBe('ok');
  });

  it.each([
    ['a HEAD response', 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n', true],
    ['204', 'HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n', false],
    ['304', 'HTTP/1.1 304 Not Modified\r\ntransfer-encoding: chunked\r\n\r\n', false],
  ])('%s has no body', (_name, wire, head) => {
    const r = parse(wire, { head });
    expect(r.ends).toEqual([true]);
    expect(r.body).toBe('');
  });

  it('reads until the connection closes without Content-Length or chunked coding', () => {
    const r = parse('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nall of it', { step: 4, close: true });
    expect(r.body).toBe('all of it');
    expect(r.ends).toEqual([false]);
  });

  it.each([
    ['connection: close', 'HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n', false],
    ['HTTP/1.0 without keep-alive', 'HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n', false],
    [
      'HTTP/1.0 with keep-alive',
      'HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n',
      true,
    ],
    ['HTTP/1.1 default', 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n', true],
  ])('keep-alive: %s', (_name, wire, keepAlive) => {
    expect(parse(wire).ends).toEqual([keepAlive]);
  });

  it('accepts repeated identical Content-Length values', () => {
    expect(parse('HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 2\r\n\r\nok').body).toBe('ok');
  });
});

describe('ResponseParser rejects ambiguous or malformed responses', () => {
  it.each([
    [
      'Transfer-Encoding with Content-Length',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n',
    ],
    ['differing Content-Lengths', 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\n'],
    ['a signed Content-Length', 'HTTP/1.1 200 OK\r\ncontent-length: +3\r\n\r\nabc'],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n'],
    ['a huge chunk size', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nfffffffffffffff\r\n'],
    ['a chunk without its CRLF', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nokXX0\r\n\r\n'],
    ['obs-fold', 'HTTP/1.1 200 OK\r\nx-a: 1\r\n  folded\r\ncontent-length: 0\r\n\r\n'],
    ['a space before the colon', 'HTTP/1.1 200 OK\r\nx-a : 1\r\ncontent-length: 0\r\n\r\n'],
    ['a control character in a value', 'HTTP/1.1 200 OK\r\nx-a: 1\x00\r\ncontent-length: 0\r\n\r\n'],
    ['a malformed status line', 'HTTP/1.1 20 OK\r\ncontent-length: 0\r\n\r\n'],
    ['a control character in the reason phrase', 'HTTP/1.1 200 O\x01K\r\ncontent-length: 0\r\n\r\n'],
    ['HTTP/2 in a status line', 'HTTP/2 200 OK\r\ncontent-length: 0\r\n\r\n'],
    ['101 without an Upgrade', 'HTTP/1.1 101 Switching Protocols\r\n\r\n'],
    ['bytes after the response', 'HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nab'],
    ['an oversized head', `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(2000)}\r\n\r\n`],
  ])('%s', (_name, wire) => {
    expect(() => parse(wire)).toThrow(ResponseParseError);
    expect(() => parse(wire, { step: 3 })).toThrow(ResponseParseError);
  });

  it('an unfinished oversized head is refused before its end arrives', () => {
    const { sink } = collector();
    const p = new ResponseParser(sink, 1024);
    p.expect(false);
    expect(() => p.execute(Buffer.from(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(2000)}`))).toThrow(
      ResponseParseError,
    );
  });

  it('a connection closed mid-body is reported as cut short', () => {
    const { sink } = collector();
    const p = new ResponseParser(sink, 1024);
    p.expect(false);
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
    expect(p.busy).toBe(true);
    expect(p.headSeen).toBe(true);
    expect(p.finish()).toBe(false);
  });
});
