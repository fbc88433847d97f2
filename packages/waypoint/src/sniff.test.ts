import { describe, expect, it } from 'vitest';
import { declaredProtocol, sniff, sniffDeclaredHttp } from './sniff.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('sniff', () => {
  it.each([
    ['', 'need-more'],
    ['G', 'need-more'],
    ['GET', 'need-more'],
    ['GET / HTTP/1.1\r\n', 'http1'],
    ['POST /charge HTTP/1.0\r\nhost: x\r\n', 'http1'],
    ['OPTIONS * HTTP/1.1\r\n', 'http1'],
    ['GET /path-without-end', 'need-more'],
    ['GET / SPDY/3\r\n', 'tcp'],
    ['BREW /pot HTTP/1.1\r\n', 'tcp'],
    ['\x16\x03\x01\x02\x00', 'tcp'],
    ['SSH-2.0-OpenSSH_9\r\n', 'tcp'],
    ['PRI * HTTP/2.0\r\n', 'need-more'],
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'http2'],
    ['PRI * HTTP/1.1\r\n', 'tcp'],
  ] as const)('%j → %s', (input, want) => {
    expect(sniff(b(input))).toBe(want);
  });

  it('gives up on an endless request line', () => {
    expect(sniff(b(`GET /${'a'.repeat(9000)}`))).toBe('tcp');
  });

  it('on a port declared HTTP only the preface matters', () => {
    expect(sniffDeclaredHttp(b('garbage'))).toBe('http1');
    expect(sniffDeclaredHttp(b('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'))).toBe('http2');
    expect(sniffDeclaredHttp(b('PRI'))).toBe('need-more');
  });

  it.each([
    ['HTTP11', 'http'],
    ['HTTP2', 'http'],
    ['GRPC', 'http'],
    ['TCP', 'tcp'],
    ['TLS', 'tcp'],
    ['UNKNOWN', undefined],
    [undefined, undefined],
  ] as const)('declared %s → %s', (p, want) => {
    expect(declaredProtocol(p)).toBe(want);
  });
});
