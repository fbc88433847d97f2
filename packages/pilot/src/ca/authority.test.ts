import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyAndCsr, ManualClock, validateChain } from '@weft/certs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { CertificateAuthority } from './authority.js';
import { DirectoryCaStore, loadPluginCa } from './store.js';

const ID = 'spiffe://cluster.local/ns/prod/sa/orders';
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function csrWith(names: x509.JsonGeneralName[]): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  return (
    await x509.Pkcs10CertificateRequestGenerator.create({
      keys,
      signingAlgorithm: EC,
      extensions: [new x509.SubjectAlternativeNameExtension(names)],
    })
  ).toString('pem');
}

describe('CertificateAuthority', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let csr: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-ca-'));
    ca = await CertificateAuthority.open(new DirectoryCaStore(join(dir, 'ca')), { maxTtlSeconds: 48 * 3600 });
    csr = (await generateKeyAndCsr(ID)).csrPem;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('generates a root once, persists it privately, and loads it again', async () => {
    const again = await CertificateAuthority.open(new DirectoryCaStore(join(dir, 'ca')));
    expect(again.bundle()).toEqual(ca.bundle());
    expect(statSync(join(dir, 'ca', 'ca-state.json')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'ca', 'root-cert.pem'), 'utf8')).toBe(ca.bundle().roots.join(''));
  });

  it('signs a workload CSR: one URI SAN, no CN, leaf first, chains to the root, default TTL 24 h', () => {
    const chain = ca.sign(csr, ID, 0);
    expect(chain).toHaveLength(2);
    const v = validateChain({
      chainPem: chain,
      identity: ID,
      roots: ca.bundle().roots.map((r) => new X509Certificate(r)),
      now: Date.now(),
    });
    expect(v.leaf.uris).toEqual([ID]);
    expect(new X509Certificate(chain[0]!).subject ?? '').toBe('');
    expect(Math.round((v.leaf.notAfter - Date.now()) / 1000 / 60)).toBe(24 * 60);
  });

  it('clamps TTLs above the maximum', () => {
    const leaf = new X509Certificate(ca.sign(csr, ID, 365 * 86400)[0]!);
    expect(Math.round((Date.parse(leaf.validTo) - Date.now()) / 3600_000)).toBe(48);
    expect(ca.ttlFor(-5)).toBe(86400);
    expect(ca.ttlFor(600)).toBe(600);
  });

  it.each([
    ['malformed PEM', () => ca.sign('not a csr', ID, 60), 'WEFT_CERTS_BAD_CSR'],
    ['a certificate instead of a CSR', () => ca.sign(ca.bundle().roots[0]!, ID, 60), 'WEFT_CERTS_BAD_CSR'],
    ['an oversized request', () => ca.sign('x'.repeat(20_000), ID, 60), 'WEFT_CA_REQUEST_TOO_LARGE'],
    [
      'an invalid identity',
      () => ca.sign(csr, 'spiffe://cluster.local/prod/orders', 60),
      'WEFT_IDENTITY_INVALID',
    ],
    [
      'another trust domain',
      () => ca.sign(csr, 'spiffe://evil.example/ns/prod/sa/orders', 60),
      'WEFT_CA_WRONG_TRUST_DOMAIN',
    ],
    [
      'a CSR for someone else',
      () => ca.sign(csr, 'spiffe://cluster.local/ns/prod/sa/admin', 60),
      'WEFT_CA_CSR_IDENTITY_MISMATCH',
    ],
  ])('refuses %s', (_name, run, code) => {
    expect(run).toThrow(expect.objectContaining({ code }));
  });

  it('refuses CSRs with several SANs or a DNS SAN', async () => {
    const two = await csrWith([
      { type: 'url', value: ID },
      { type: 'url', value: 'spiffe://cluster.local/ns/prod/sa/admin' },
    ]);
    expect(() => ca.sign(two, ID, 60)).toThrow(expect.objectContaining({ code: 'WEFT_CA_CSR_SANS' }));
    const dns = await csrWith([
      { type: 'url', value: ID },
      { type: 'dns', value: 'orders.prod.svc' },
    ]);
    expect(() => ca.sign(dns, ID, 60)).toThrow(expect.objectContaining({ code: 'WEFT_CA_CSR_SANS' }));
    const none = await csrWith([{ type: 'dns', value: 'x' }]);
    expect(() => ca.sign(none, ID, 60)).toThrow(expect.objectContaining({ code: 'WEFT_CA_CSR_SANS' }));
  });

  it('rotates its root in three stages and persists each', async () => {
    const clock = new ManualClock(Date.now());
    const store = new DirectoryCaStore(join(dir, 'rot'));
    const rca = await CertificateAuthority.open(store, {
      clock,
      maxTtlSeconds: 3600,
      defaultTtlSeconds: 3600,
    });
    const changes: string[] = [];
    rca.onChange((c) => changes.push(c));
    const [oldRoot] = rca.bundle().roots;
    const added = await rca.rotate('add');
    expect(added.phase).toBe('added');
    expect(rca.bundle().roots).toHaveLength(2);
    expect(rca.sign(csr, ID, 60).at(-1)).toBe(oldRoot);
    const switched = await rca.rotate('switch');
    expect(switched.phase).toBe('switched');
    const newRoot = rca.bundle().roots[1];
    expect(rca.sign(csr, ID, 60).at(-1)).toBe(newRoot);
    await expect(rca.rotate('retire')).rejects.toMatchObject({ code: 'WEFT_CA_RETIRE_TOO_EARLY' });
    expect((await CertificateAuthority.open(store, { clock })).status().phase).toBe('switched');
    clock.advance(3600_000 + 360_000);
    const retired = await rca.rotate('retire');
    expect(retired.phase).toBe('steady');
    expect(rca.bundle()).toEqual({ version: 3, roots: [newRoot] });
    expect(changes).toEqual(['bundle', 'issuer', 'bundle']);
  });

  it("signs with a plug-in CA's intermediate (Istio cacerts layout) and refuses to rotate it", async () => {
    const clock = new ManualClock(Date.now());
    const rootCa = await CertificateAuthority.open(new DirectoryCaStore(join(dir, 'plug-root')), { clock });
    // An intermediate: a CA certificate signed by the root, from the same template builder.
    const { buildCertificate, issuerFrom, newKey } = await import('./x509.js');
    const { toPem } = await import('@weft/certs');
    const key = newKey();
    const rootPem = rootCa.bundle().roots[0]!;
    const interDer = buildCertificate(
      {
        spki: key.spki,
        notBefore: new Date(Date.now() - 1000),
        notAfter: new Date(Date.now() + 86400_000),
        subject: { commonName: 'Intermediate', organization: 'cluster.local' },
        ca: true,
      },
      issuerFrom(
        new X509Certificate(rootPem).raw,
        JSON.parse(readFileSync(join(dir, 'plug-root', 'ca-state.json'), 'utf8')).roots[0].keyPem,
      ),
    );
    const interPem = toPem('CERTIFICATE', interDer);
    const cacerts = join(dir, 'cacerts');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(cacerts);
    writeFileSync(join(cacerts, 'ca-cert.pem'), interPem);
    writeFileSync(join(cacerts, 'ca-key.pem'), key.keyPem);
    writeFileSync(join(cacerts, 'root-cert.pem'), rootPem);
    writeFileSync(join(cacerts, 'cert-chain.pem'), interPem + rootPem);
    const plug = CertificateAuthority.fromPlugin(await loadPluginCa(cacerts));
    const chain = plug.sign(csr, ID, 600);
    expect(chain).toHaveLength(3);
    const v = validateChain({
      chainPem: chain,
      identity: ID,
      roots: [new X509Certificate(rootPem)],
      now: Date.now(),
    });
    expect(v.presented).toHaveLength(2);
    expect(plug.status().mode).toBe('plugin');
    await expect(plug.rotate('add')).rejects.toMatchObject({ code: 'WEFT_CA_PLUGIN_ROTATION' });

    writeFileSync(join(cacerts, 'ca-key.pem'), newKey().keyPem);
    expect(() => CertificateAuthority.fromPlugin(readPlugin(cacerts))).toThrow(
      expect.objectContaining({ code: 'WEFT_CA_PLUGIN_INVALID' }),
    );
    await expect(loadPluginCa(join(dir, 'missing'))).rejects.toMatchObject({ code: 'WEFT_CA_PLUGIN_FILES' });
  });
});

function readPlugin(dir: string) {
  const r = (f: string) => readFileSync(join(dir, f), 'utf8');
  return {
    caCertPem: r('ca-cert.pem'),
    caKeyPem: r('ca-key.pem'),
    rootCertPem: r('root-cert.pem'),
    certChainPem: r('cert-chain.pem'),
  };
}
