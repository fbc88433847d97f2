import 'reflect-metadata';
import { createPublicKey, type KeyObject, verify, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { WeftError } from '@weft/telemetry';
import { children, DerError, expectTag, oidToString, readTlv, slice, TAG, type Tlv, value } from './der.js';
import { pemBlocks, toPem } from './pem.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A fresh private key (PKCS#8 PEM) and a CSR for one SPIFFE identity. */
export interface KeyAndCsr {
  keyPem: string;
  csrPem: string;
}

/**
 * ECDSA P-256 key and a SHA-256 CSR with exactly one URI SAN (the identity) and no CN, as ztunnel sends.
 * The key never leaves the process except inside the SecureContext.
 */
export async function generateKeyAndCsr(identity: string): Promise<KeyAndCsr> {
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: EC_P256,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: identity }], true)],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keyPem: toPem('PRIVATE KEY', new Uint8Array(pkcs8)), csrPem: csr.toString('pem') };
}

/** Subject alternative names, by kind. */
export interface SubjectAltNames {
  uris: string[];
  dnsNames: string[];
  ipAddresses: string[];
  /** Names of any other kind (email, directory name…), by GeneralName tag number. */
  other: number[];
}

/** What the CA needs from a CSR, after its signature was checked. */
export interface ParsedCsr {
  /** DER SubjectPublicKeyInfo, copied verbatim into the certificate. */
  spki: Buffer;
  publicKey: KeyObject;
  keyType: 'ec-p256' | 'ec-p384' | 'rsa';
  sans: SubjectAltNames;
  /** True when the CSR's subject is a non-empty name (Weft ignores it; Istio's agent sends O=...). */
  hasSubject: boolean;
}

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SAN = '2.5.29.17';
const SIGNATURE_HASH: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.113549.1.1.11': 'sha256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'sha384',
};

function badCsr(why: string, cause?: unknown): WeftError {
  return new WeftError('WEFT_CERTS_BAD_CSR', `malformed certificate signing request: ${why}`, {
    cause,
  });
}

function ipFromBytes(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  const groups: string[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return groups.join(':');
}

/** GeneralNames (RFC 5280) from the DER value of a SAN extension. */
export function parseGeneralNames(der: Uint8Array): SubjectAltNames {
  const out: SubjectAltNames = { uris: [], dnsNames: [], ipAddresses: [], other: [] };
  const names = expectTag(readTlv(der, 0), TAG.SEQUENCE, 'GeneralNames');
  for (const n of children(der, names)) {
    const kind = n.tag & 0x1f;
    const bytes = value(der, n);
    if (n.tag === 0x86) out.uris.push(Buffer.from(bytes).toString('latin1'));
    else if (n.tag === 0x82) out.dnsNames.push(Buffer.from(bytes).toString('latin1'));
    else if (n.tag === 0x87) out.ipAddresses.push(ipFromBytes(bytes));
    else out.other.push(kind);
  }
  return out;
}

function sansFromAttributes(der: Buffer, attrs: Tlv): SubjectAltNames {
  const empty: SubjectAltNames = { uris: [], dnsNames: [], ipAddresses: [], other: [] };
  for (const attr of children(der, attrs)) {
    const [type, values] = children(der, expectTag(attr, TAG.SEQUENCE, 'attribute'));
    if (
      type === undefined ||
      oidToString(der, expectTag(type, TAG.OID, 'attribute type')) !== OID_EXTENSION_REQUEST
    )
      continue;
    const exts = children(der, expectTag(values, TAG.SET, 'attribute values'))[0];
    for (const ext of children(der, expectTag(exts, TAG.SEQUENCE, 'extensions'))) {
      const parts = children(der, expectTag(ext, TAG.SEQUENCE, 'extension'));
      const id = oidToString(der, expectTag(parts[0], TAG.OID, 'extension id'));
      if (id !== OID_SAN) continue;
      const octets = expectTag(parts[parts.length - 1], TAG.OCTET_STRING, 'extension value');
      return parseGeneralNames(value(der, octets));
    }
  }
  return empty;
}

/**
 * Parses a PEM CSR and verifies its self-signature. Throws WEFT_CERTS_BAD_CSR for anything malformed,
 * unsigned or with an unsupported key; never echoes key material.
 */
export function parseCsr(pem: string): ParsedCsr {
  let blocks: ReturnType<typeof pemBlocks>;
  try {
    blocks = pemBlocks(pem);
  } catch (err) {
    throw badCsr('not valid PEM', err);
  }
  const block = blocks.find(
    (b) => b.label === 'CERTIFICATE REQUEST' || b.label === 'NEW CERTIFICATE REQUEST',
  );
  if (block === undefined) throw badCsr('no PEM CERTIFICATE REQUEST block');
  if (blocks.length !== 1) throw badCsr('expected exactly one PEM block');
  const der = block.der;
  try {
    const top = expectTag(readTlv(der, 0), TAG.SEQUENCE, 'CertificationRequest');
    if (top.end !== der.length) throw new DerError('trailing bytes');
    const [info, sigAlg, sig] = children(der, top);
    const infoParts = children(der, expectTag(info, TAG.SEQUENCE, 'CertificationRequestInfo'));
    const [version, subject, spkiTlv, attrs] = infoParts;
    expectTag(version, TAG.INTEGER, 'version');
    const subjectTlv = expectTag(subject, TAG.SEQUENCE, 'subject');
    const spki = Buffer.from(slice(der, expectTag(spkiTlv, TAG.SEQUENCE, 'subjectPublicKeyInfo')));
    const algId = children(der, expectTag(sigAlg, TAG.SEQUENCE, 'signatureAlgorithm'))[0];
    const hash = SIGNATURE_HASH[oidToString(der, expectTag(algId, TAG.OID, 'signature algorithm'))];
    if (hash === undefined) throw badCsr('unsupported signature algorithm (use ECDSA or RSA with SHA-256)');
    const sigTlv = expectTag(sig, TAG.BIT_STRING, 'signature');
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    } catch (err) {
      throw badCsr('unreadable public key', err);
    }
    const details = publicKey.asymmetricKeyDetails ?? {};
    let keyType: ParsedCsr['keyType'];
    if (publicKey.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') keyType = 'ec-p256';
    else if (publicKey.asymmetricKeyType === 'ec' && details.namedCurve === 'secp384r1') keyType = 'ec-p384';
    else if (publicKey.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048) keyType = 'rsa';
    else throw badCsr('unsupported key type (use ECDSA P-256)');
    const signature = value(der, sigTlv).subarray(1);
    if (!verify(hash, slice(der, info!), publicKey, signature))
      throw badCsr('signature does not match its public key');
    const sans =
      attrs !== undefined && attrs.tag === 0xa0
        ? sansFromAttributes(der, attrs)
        : { uris: [], dnsNames: [], ipAddresses: [], other: [] };
    return { spki, publicKey, keyType, sans, hasSubject: subjectTlv.end > subjectTlv.valueStart };
  } catch (err) {
    if (err instanceof WeftError) throw err;
    throw badCsr(err instanceof Error ? err.message : 'unreadable DER', err);
  }
}
