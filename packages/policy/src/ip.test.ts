import { describe, expect, it } from 'vitest';
import { cidrContains, cidrFromBytes, parseCidr, parseIp } from './ip.js';
import { PathMatcher, pathTemplateError } from './path-match.js';

describe('parseCidr / cidrContains', () => {
  const cases: Array<[string, string, boolean]> = [
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['0.0.0.0/0', '1.2.3.4', true],
    ['192.168.1.7', '192.168.1.7', true],
    ['192.168.1.7', '192.168.1.8', false],
    ['192.168.1.7/24', '192.168.1.200', true],
    ['10.0.0.0/8', '::ffff:10.1.1.1', true],
    ['2001:db8::/32', '2001:db8:1::5', true],
    ['2001:db8::/32', '2001:db9::5', false],
    ['::/0', 'fe80::1', true],
    ['::1', '::1', true],
    ['fd00::/8', '10.0.0.1', false],
    ['10.0.0.0/8', 'fd00::1', false],
    ['2001:db8::1:0:0:1/128', '2001:db8:0:0:1::1', true],
    ['::ffff:0:0/96', '::ffff:1.2.3.4', false],
  ];
  it.each(cases)('%s contains %s → %s', (cidr, ip, want) => {
    expect(cidrContains(parseCidr(cidr)!, parseIp(ip)!)).toBe(want);
  });

  it.each([
    '10.0.0/8',
    '10.0.0.0/33',
    '1.2.3.256',
    '01.2.3.4',
    'fd00::/129',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    'x',
    '',
    '10.0.0.0/',
  ])('rejects %j', (s) => {
    expect(parseCidr(s)).toBeNull();
  });

  it('round-trips bytes for the L4 model', () => {
    const r = parseCidr('2001:db8::/48')!;
    expect(r.length).toBe(48);
    expect(cidrContains(cidrFromBytes(r.bytes, r.length)!, parseIp('2001:db8:0:ffff::1')!)).toBe(true);
    expect([...parseCidr('10.1.2.3/16')!.bytes]).toEqual([10, 1, 2, 3]);
  });
});

describe('path templates', () => {
  const cases: Array<[string, string, boolean]> = [
    ['/a/{*}/c', '/a/b/c', true],
    ['/a/{*}/c', '/a//c', false],
    ['/a/{*}', '/a/b/c', false],
    ['/a/{**}', '/a/b/c', true],
    ['/{*}/{*}', '/x/y', true],
    ['/a.b/{*}', '/aXb/c', false],
    ['/a/{**}', '/a/', true],
    ['/a/{**}/z', '/a/b/c/z', true],
    ['/a/{*}', '/a/b?c', false],
  ];
  it.each(cases)('%s vs %s → %s', (tpl, path, want) => {
    expect(pathTemplateError(tpl)).toBeNull();
    expect(new PathMatcher([tpl]).matches(path)).toBe(want);
  });
});
