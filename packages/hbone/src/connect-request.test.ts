import { describe, expect, it } from 'vitest';
import { connectHeaders, formatHostPort, parseAuthority, randomTraceparent } from './connect-request.js';
import { inTrustDomains, spiffeIdsOf, trustDomainOf } from './credentials.js';
import { HboneErrorCode } from './errors.js';

describe('parseAuthority', () => {
  it.each([
    ['10.1.2.3:8080', { host: '10.1.2.3', port: 8080 }],
    ['[fd00::1]:443', { host: 'fd00::1', port: 443 }],
    ['127.0.0.1:1', { host: '127.0.0.1', port: 1 }],
    ['127.0.0.1:65535', { host: '127.0.0.1', port: 65535 }],
  ])('accepts %s', (authority, expected) => {
    expect(parseAuthority(authority)).toEqual(expected);
  });

  it.each([
    [undefined, 'missing'],
    ['', 'missing'],
    ['10.1.2.3', 'expected ip:port'],
    [':80', 'expected ip:port'],
    ['10.1.2.3:0', 'out of range'],
    ['10.1.2.3:65536', 'out of range'],
    ['10.1.2.3:8o', 'not a number'],
    ['10.1.2.3:+80', 'not a number'],
    ['svc.example:80', 'not an IP'],
    ['10.1.2:80', 'not an IP'],
    ['[fd00::1:443', 'expected [ipv6]:port'],
    ['[10.0.0.1]:443', 'not an IPv6'],
    [`${'1'.repeat(400)}:80`, 'too long'],
  ])('refuses %s (%s) with a 400 BAD_AUTHORITY', (authority, why) => {
    expect(() => parseAuthority(authority)).toThrow(why);
    try {
      parseAuthority(authority);
    } catch (err) {
      expect(err).toMatchObject({ code: HboneErrorCode.BadAuthority, status: 400 });
    }
  });

  it('accepts host names only when asked (double HBONE, waypoints)', () => {
    expect(parseAuthority('reviews.prod.svc.cluster.local:9080', true)).toEqual({
      host: 'reviews.prod.svc.cluster.local',
      port: 9080,
    });
    expect(() => parseAuthority('bad_name!:80', true)).toThrow('not an IP');
  });
});

describe('CONNECT headers', () => {
  it('carry :authority, forwarded, baggage and a fresh traceparent', () => {
    const h = connectHeaders('10.0.0.2:80', {
      forwardedFor: '10.0.0.1:5555',
      forwardedHost: 'reviews.prod.svc.cluster.local',
      baggage: 'k8s.namespace.name=prod',
    });
    expect(h).toMatchObject({
      ':method': 'CONNECT',
      ':authority': '10.0.0.2:80',
      forwarded: 'for="10.0.0.1:5555";host=reviews.prod.svc.cluster.local',
      baggage: 'k8s.namespace.name=prod',
    });
    expect(h.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(connectHeaders('10.0.0.2:80', {}).traceparent).not.toBe(h.traceparent);
    expect(connectHeaders('10.0.0.2:80', { traceparent: 'given' }).traceparent).toBe('given');
  });

  it('traceparents stay unique across refills of the random block', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => randomTraceparent()));
    expect(seen.size).toBe(1000);
  });

  it('formats IPv6 with brackets', () => {
    expect(formatHostPort('fd00::2', 15008)).toBe('[fd00::2]:15008');
    expect(formatHostPort('10.0.0.2', 15008)).toBe('10.0.0.2:15008');
  });
});

describe('SPIFFE identities', () => {
  it.each([
    ['spiffe://cluster.local/ns/a/sa/b', 'cluster.local'],
    ['spiffe://Example.ORG/x', 'example.org'],
    ['spiffe://td', 'td'],
    ['https://cluster.local/ns/a', undefined],
    ['spiffe:///ns/a', undefined],
  ])('trust domain of %s is %s', (id, domain) => {
    expect(trustDomainOf(id)).toBe(domain);
  });

  it('reads SPIFFE URI SANs in order, ignoring other names', () => {
    expect(
      spiffeIdsOf({
        subjectaltname:
          'DNS:x.example, URI:spiffe://cluster.local/ns/a/sa/b, URI:https://not/spiffe, URI:spiffe://other/ns/c/sa/d',
      } as never),
    ).toEqual(['spiffe://cluster.local/ns/a/sa/b', 'spiffe://other/ns/c/sa/d']);
    expect(spiffeIdsOf(undefined)).toEqual([]);
    expect(spiffeIdsOf({} as never)).toEqual([]);
  });

  it('accepts a peer when one SPIFFE SAN is in our trust domain or an alias', () => {
    expect(inTrustDomains(['spiffe://cluster.local/ns/a/sa/b'], ['cluster.local'])).toBe(true);
    expect(inTrustDomains(['spiffe://old.td/ns/a/sa/b'], ['cluster.local', 'old.td'])).toBe(true);
    expect(inTrustDomains(['spiffe://evil/ns/a/sa/b'], ['cluster.local'])).toBe(false);
    expect(inTrustDomains([], ['cluster.local'])).toBe(false);
  });
});
