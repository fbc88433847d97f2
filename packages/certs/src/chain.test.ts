import { X509Certificate } from 'node:crypto';
import { TestCa } from '@weft/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateChain } from './chain.js';
import { generateKeyAndCsr } from './csr.js';
import { CsrSigner } from './testing.js';

const ID = 'spiffe://cluster.local/ns/prod/sa/orders';

describe('validateChain', () => {
  let root: TestCa;
  let inter: TestCa;
  let other: TestCa;
  let roots: X509Certificate[];
  let key: { keyPem: string; csrPem: string };
  const now = Date.now();

  beforeAll(async () => {
    root = await TestCa.create();
    inter = await root.intermediate();
    other = await TestCa.create({ name: 'Other Root' });
    roots = [new X509Certificate(root.certPem)];
    key = await generateKeyAndCsr(ID);
  });

  async function chain(
    t: ConstructorParameters<typeof CsrSigner>[0],
    tamper: CsrSigner['tamper'] = undefined,
  ) {
    const s = new CsrSigner(t, () => now - 60_000);
    s.tamper = tamper;
    return s.sign({ csrPem: key.csrPem, identity: ID, ttlSeconds: 3600 });
  }

  it('accepts leaf → intermediate → root and presents leaf + intermediate', async () => {
    const v = validateChain({ chainPem: await chain(inter), identity: ID, roots, now, keyPem: key.keyPem });
    expect(v.leaf.uris).toEqual([ID]);
    expect(v.presented).toHaveLength(2);
    expect(v.root.fingerprint256).toBe(roots[0]!.fingerprint256);
  });

  it('accepts a chain that stops below the root', async () => {
    const full = await chain(inter);
    const v = validateChain({ chainPem: full.slice(0, 2), identity: ID, roots, now });
    expect(v.presented).toHaveLength(2);
  });

  it('accepts one PEM string holding the whole chain', async () => {
    const v = validateChain({ chainPem: [(await chain(root)).join('')], identity: ID, roots, now });
    expect(v.presented).toHaveLength(1);
  });

  const cases: [string, string, () => Promise<Parameters<typeof validateChain>[0]>][] = [
    ['empty chain', 'WEFT_CERTS_CHAIN_EMPTY', async () => ({ chainPem: [], identity: ID, roots, now })],
    [
      'garbage',
      'WEFT_CERTS_BAD_PEM',
      async () => ({
        chainPem: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'],
        identity: ID,
        roots,
        now,
      }),
    ],
    [
      'another identity',
      'WEFT_CERTS_IDENTITY_MISMATCH',
      async () => ({
        chainPem: await chain(root, { identity: 'spiffe://cluster.local/ns/prod/sa/admin' }),
        identity: ID,
        roots,
        now,
      }),
    ],
    [
      'not our key',
      'WEFT_CERTS_KEY_MISMATCH',
      async () => ({
        chainPem: await chain(root),
        identity: ID,
        roots,
        now,
        keyPem: (await generateKeyAndCsr(ID)).keyPem,
      }),
    ],
    [
      'untrusted root',
      'WEFT_CERTS_UNTRUSTED',
      async () => ({ chainPem: await chain(other), identity: ID, roots, now }),
    ],
    [
      'broken link',
      'WEFT_CERTS_UNTRUSTED',
      async () => {
        const c = await chain(inter);
        return { chainPem: [c[0]!, other.certPem, root.certPem], identity: ID, roots, now };
      },
    ],
    [
      'expired',
      'WEFT_CERTS_EXPIRED',
      async () => ({
        chainPem: await chain(root, { notBefore: now - 7200_000, notAfter: now - 1000 }),
        identity: ID,
        roots,
        now,
      }),
    ],
    [
      'not yet valid',
      'WEFT_CERTS_NOT_YET_VALID',
      async () => ({ chainPem: await chain(root, { notBefore: now + 600_000 }), identity: ID, roots, now }),
    ],
    [
      'a CA as leaf',
      'WEFT_CERTS_IDENTITY_MISMATCH',
      async () => ({ chainPem: [inter.certPem, root.certPem], identity: ID, roots, now }),
    ],
  ];
  it.each(cases)('rejects %s with %s', async (_name, code, input) => {
    const check = await input();
    expect(() => validateChain(check)).toThrow(expect.objectContaining({ code }));
  });
});
