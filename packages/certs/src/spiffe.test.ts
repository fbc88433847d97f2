import { describe, expect, it } from 'vitest';
import {
  formatPrincipal,
  formatSpiffeId,
  parsePrincipal,
  parseSpiffeId,
  principalOf,
  spiffeId,
  TrustDomains,
  tryParseSpiffeId,
} from './spiffe.js';

describe('SPIFFE identities', () => {
  it('parses and formats the Kubernetes form', () => {
    const id = parseSpiffeId('spiffe://cluster.local/ns/prod/sa/orders');
    expect(id).toEqual({ trustDomain: 'cluster.local', namespace: 'prod', serviceAccount: 'orders' });
    expect(formatSpiffeId(id)).toBe('spiffe://cluster.local/ns/prod/sa/orders');
    expect(formatPrincipal(id)).toBe('cluster.local/ns/prod/sa/orders');
    expect(principalOf('spiffe://td.example/ns/a/sa/b.c')).toBe('td.example/ns/a/sa/b.c');
    expect(parsePrincipal('cluster.local/ns/prod/sa/orders')).toEqual(id);
    expect(spiffeId('cluster.local', 'prod', 'orders')).toBe('spiffe://cluster.local/ns/prod/sa/orders');
  });

  it.each([
    ['', 'missing spiffe:// scheme'],
    ['http://cluster.local/ns/a/sa/b', 'missing spiffe:// scheme'],
    ['spiffe://cluster.local', 'no path'],
    ['spiffe://Cluster.Local/ns/a/sa/b', 'bad trust domain'],
    ['spiffe:///ns/a/sa/b', 'bad trust domain'],
    ['spiffe://cluster.local/ns/a/sa', 'path is not'],
    ['spiffe://cluster.local/ns/a/sa/b/extra', 'path is not'],
    ['spiffe://cluster.local/namespace/a/sa/b', 'path is not'],
    ['spiffe://cluster.local/ns/A/sa/b', 'bad namespace'],
    ['spiffe://cluster.local/ns/-a/sa/b', 'bad namespace'],
    ['spiffe://cluster.local/ns/a/sa/', 'bad service account'],
    ['spiffe://cluster.local/ns/a/sa/b%2F', 'bad service account'],
    [`spiffe://cluster.local/ns/a/sa/${'x'.repeat(3000)}`, 'too long'],
  ])('rejects %j (%s) with WEFT_IDENTITY_INVALID', (input, why) => {
    expect(() => parseSpiffeId(input)).toThrow(
      expect.objectContaining({ code: 'WEFT_IDENTITY_INVALID', message: expect.stringContaining(why) }),
    );
    expect(tryParseSpiffeId(input)).toBeUndefined();
  });

  it('rejects a principal with a scheme', () => {
    expect(() => parsePrincipal('spiffe://cluster.local/ns/a/sa/b')).toThrow(/no spiffe:\/\/ scheme/);
  });

  it('accepts aliases of the trust domain and maps them to the primary', () => {
    const tds = new TrustDomains('cluster.local', ['old.example', 'cluster.local']);
    expect(tds.list()).toEqual(['cluster.local', 'old.example']);
    const id = tds.check('spiffe://old.example/ns/a/sa/b');
    expect(tds.canonical(id)).toEqual({ trustDomain: 'cluster.local', namespace: 'a', serviceAccount: 'b' });
    expect(() => tds.check('spiffe://evil.example/ns/a/sa/b')).toThrow(
      expect.objectContaining({ code: 'WEFT_IDENTITY_UNTRUSTED_DOMAIN' }),
    );
    expect(() => new TrustDomains('Bad Domain')).toThrow(
      expect.objectContaining({ code: 'WEFT_IDENTITY_INVALID' }),
    );
  });
});
