import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { generateKeyAndCsr, parseCsr } from './csr.js';

const ID = 'spiffe://cluster.local/ns/prod/sa/orders';
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function csrWith(names: x509.JsonGeneralName[], subject?: string): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: EC,
    ...(subject === undefined ? {} : { name: subject }),
    extensions: names.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(names)],
  });
  return csr.toString('pem');
}

describe('key and CSR', () => {
  it('makes an ECDSA P-256 key and a SHA-256 CSR with one URI SAN and no CN', async () => {
    const { keyPem, csrPem } = await generateKeyAndCsr(ID);
    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const parsed = parseCsr(csrPem);
    expect(parsed.keyType).toBe('ec-p256');
    expect(parsed.sans).toEqual({ uris: [ID], dnsNames: [], ipAddresses: [], other: [] });
    expect(parsed.hasSubject).toBe(false);
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    expect(csr.subject).toBe('');
    expect(csr.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
  });

  it('reads every SAN kind and a subject', async () => {
    const parsed = parseCsr(
      await csrWith(
        [
          { type: 'url', value: ID },
          { type: 'dns', value: 'a.example' },
          { type: 'ip', value: '10.0.0.1' },
          { type: 'email', value: 'x@example.com' },
        ],
        'O=cluster.local',
      ),
    );
    expect(parsed.sans).toEqual({
      uris: [ID],
      dnsNames: ['a.example'],
      ipAddresses: ['10.0.0.1'],
      other: [1],
    });
    expect(parsed.hasSubject).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['not PEM', 'hello'],
    ['bad base64', '-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n'],
    ['garbage DER', '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n'],
    ['a certificate', '-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n'],
  ])('rejects %s with WEFT_CERTS_BAD_CSR', (_name, pem) => {
    expect(() => parseCsr(pem)).toThrow(expect.objectContaining({ code: 'WEFT_CERTS_BAD_CSR' }));
  });

  it('rejects a CSR whose signature does not match (tampered SAN)', async () => {
    const { csrPem } = await generateKeyAndCsr(ID);
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s+/g, ''), 'base64');
    const at = der.indexOf(Buffer.from('orders'));
    der.write('others', at, 'latin1');
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    expect(() => parseCsr(tampered)).toThrow(/signature does not match/);
  });

  it('rejects truncated DER without crashing', async () => {
    const { csrPem } = await generateKeyAndCsr(ID);
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s+/g, ''), 'base64');
    for (const cut of [1, 2, 10, 50, der.length - 1]) {
      const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${der.subarray(0, cut).toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
      expect(() => parseCsr(pem)).toThrow(expect.objectContaining({ code: 'WEFT_CERTS_BAD_CSR' }));
    }
  });
});
