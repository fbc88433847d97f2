import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';
import { der, toPem } from '@weft/certs';

/** Builds X.509 certificates from a fixed template and signs them with node:crypto (no ASN.1 library). */

const { TAG } = der;
const OID = {
  ecdsaSha256: '1.2.840.10045.4.3.2',
  rsaSha256: '1.2.840.113549.1.1.11',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyId: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyId: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

export interface CertificateTemplate {
  /** DER SubjectPublicKeyInfo of the key being certified. */
  spki: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  uris?: readonly string[];
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  /** Subject (CN, O); leaf workload certificates have none. */
  subject?: { commonName?: string; organization?: string };
  /** A CA certificate (root or intermediate). */
  ca?: boolean;
}

/** The issuing side: a CA certificate and its key. */
export interface Issuer {
  /** DER of the issuer's subject Name, copied into issued certificates. */
  subjectDer: Uint8Array;
  /** The issuer's subject key identifier, copied into authorityKeyIdentifier. */
  keyId: Uint8Array;
  key: KeyObject;
}

function extension(id: string, critical: boolean, valueDer: Uint8Array): Buffer {
  return der.seq(
    der.oid(id),
    ...(critical ? [der.tlv(TAG.BOOLEAN, Buffer.from([0xff]))] : []),
    der.octetString(valueDer),
  );
}

function name(subject: CertificateTemplate['subject']): Buffer {
  const rdns: Buffer[] = [];
  if (subject?.organization !== undefined)
    rdns.push(
      der.tlv(
        TAG.SET,
        der.seq(der.oid(OID.organization), der.tlv(TAG.UTF8_STRING, Buffer.from(subject.organization))),
      ),
    );
  if (subject?.commonName !== undefined)
    rdns.push(
      der.tlv(
        TAG.SET,
        der.seq(der.oid(OID.commonName), der.tlv(TAG.UTF8_STRING, Buffer.from(subject.commonName))),
      ),
    );
  return der.seq(...rdns);
}

function ipBytes(ip: string): Buffer {
  if (ip.includes(':')) {
    const [head = '', tail = ''] = ip.split('::');
    const h = head === '' ? [] : head.split(':');
    const t = tail === '' ? [] : tail.split(':');
    const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
    return Buffer.from(
      groups.flatMap((g) => {
        const n = Number.parseInt(g, 16);
        return [n >> 8, n & 0xff];
      }),
    );
  }
  return Buffer.from(ip.split('.').map(Number));
}

/** SHA-1 of the subjectPublicKey bits (RFC 5280 method 1). */
export function keyIdOf(spki: Uint8Array): Buffer {
  const top = der.readTlv(spki, 0);
  const bits = der.children(spki, top)[1];
  if (bits === undefined) throw new Error('bad SubjectPublicKeyInfo');
  return createHash('sha1').update(der.value(spki, bits).subarray(1)).digest();
}

function algorithmFor(key: KeyObject): { id: Buffer; hash: string } {
  if (key.asymmetricKeyType === 'ec') return { id: der.seq(der.oid(OID.ecdsaSha256)), hash: 'sha256' };
  if (key.asymmetricKeyType === 'rsa')
    return { id: der.seq(der.oid(OID.rsaSha256), der.tlv(TAG.NULL)), hash: 'sha256' };
  throw new Error(`unsupported CA key type ${key.asymmetricKeyType}`);
}

function serialNumber(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // positive, non-zero, fixed length
  return bytes;
}

/** Builds and signs one certificate (a self-signed root passes its own name, key id and key as `issuer`). */
export function buildCertificate(t: CertificateTemplate, issuer: Issuer): Buffer {
  const alg = algorithmFor(issuer.key);
  const sans: Buffer[] = [
    ...(t.uris ?? []).map((u) => der.contextPrimitive(6, Buffer.from(u, 'latin1'))),
    ...(t.dnsNames ?? []).map((d) => der.contextPrimitive(2, Buffer.from(d, 'latin1'))),
    ...(t.ipAddresses ?? []).map((ip) => der.contextPrimitive(7, ipBytes(ip))),
  ];
  const emptySubject = t.subject === undefined;
  const exts: Buffer[] = t.ca
    ? [
        extension(OID.basicConstraints, true, der.seq(der.tlv(TAG.BOOLEAN, Buffer.from([0xff])))),
        // digitalSignature | keyCertSign | cRLSign
        extension(OID.keyUsage, true, der.bitString(Buffer.from([0x86]), 1)),
        extension(OID.subjectKeyId, false, der.octetString(keyIdOf(t.spki))),
      ]
    : [
        extension(OID.basicConstraints, true, der.seq()),
        // digitalSignature | keyEncipherment, as Istio's workload certificates
        extension(OID.keyUsage, true, der.bitString(Buffer.from([0xa0]), 5)),
        extension(OID.extKeyUsage, false, der.seq(der.oid(OID.serverAuth), der.oid(OID.clientAuth))),
      ];
  exts.push(extension(OID.authorityKeyId, false, der.seq(der.contextPrimitive(0, issuer.keyId))));
  if (sans.length > 0) exts.push(extension(OID.subjectAltName, emptySubject, der.seq(...sans)));
  const tbs = der.seq(
    der.contextExplicit(0, der.tlv(TAG.INTEGER, Buffer.from([2]))),
    der.unsignedInteger(serialNumber()),
    alg.id,
    Buffer.from(issuer.subjectDer),
    der.seq(der.time(t.notBefore), der.time(t.notAfter)),
    name(t.subject),
    Buffer.from(t.spki),
    der.contextExplicit(3, der.seq(...exts)),
  );
  const signature = sign(alg.hash, tbs, issuer.key);
  return der.seq(tbs, alg.id, der.bitString(signature));
}

/** Reads what an issuer needs from its certificate (DER) and private key (PEM). */
export function issuerFrom(certDer: Uint8Array, keyPem: string): Issuer {
  const top = der.readTlv(certDer, 0);
  const tbsTlv = der.children(certDer, top)[0];
  if (tbsTlv === undefined) throw new Error('bad certificate');
  const fields = der.children(certDer, tbsTlv);
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[offset + 4];
  const spki = fields[offset + 5];
  if (subject === undefined || spki === undefined) throw new Error('bad certificate');
  let keyId: Uint8Array | undefined;
  const extsWrapper = fields.find((f) => f.tag === 0xa3);
  if (extsWrapper !== undefined) {
    const list = der.children(certDer, extsWrapper)[0];
    for (const ext of list === undefined ? [] : der.children(certDer, list)) {
      const parts = der.children(certDer, ext);
      if (parts[0] === undefined || der.oidToString(certDer, parts[0]) !== OID.subjectKeyId) continue;
      const octets = parts[parts.length - 1]!;
      const inner = der.readTlv(certDer, octets.valueStart, octets.end);
      keyId = der.value(certDer, inner);
    }
  }
  return {
    subjectDer: der.slice(certDer, subject),
    keyId: keyId ?? keyIdOf(der.slice(certDer, spki)),
    key: createPrivateKey(keyPem),
  };
}

/** A new self-signed ECDSA P-256 root. */
export function createRoot(options: {
  commonName: string;
  organization: string;
  notBefore: Date;
  notAfter: Date;
}): {
  certPem: string;
  keyPem: string;
} {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const subjectDer = name({ commonName: options.commonName, organization: options.organization });
  const cert = buildCertificate(
    {
      spki,
      notBefore: options.notBefore,
      notAfter: options.notAfter,
      subject: { commonName: options.commonName, organization: options.organization },
      ca: true,
    },
    { subjectDer, keyId: keyIdOf(spki), key: privateKey },
  );
  return {
    certPem: toPem('CERTIFICATE', cert),
    keyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

/** A new ECDSA P-256 key with its SPKI, e.g. for pilot's own serving certificate. */
export function newKey(): { spki: Buffer; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    spki: publicKey.export({ format: 'der', type: 'spki' }),
    keyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}
