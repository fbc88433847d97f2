import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;
type Algorithm = webcrypto.Algorithm;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

/** A certificate with its private key, in PEM. `chainPem` is the leaf followed by any intermediates. */
export interface TestCredential {
  certPem: string;
  keyPem: string;
  chainPem: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

export interface IssueOptions {
  /** URI SANs, e.g. spiffe://cluster.local/ns/prod/sa/orders. */
  uris?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  commonName?: string;
  /** Lifetime in seconds from notBefore (default 1 hour). */
  ttlSeconds?: number;
  /** Default: one minute ago (clock skew). */
  notBefore?: Date;
  /** RSA instead of ECDSA P-256 (the brief's openssl walkthrough uses RSA). */
  rsa?: boolean;
  /** Extended key usages: both server and client auth by default. */
  usages?: ('server' | 'client')[];
}

function toPem(tag: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${tag}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${tag}-----\n`;
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive
  return Buffer.from(bytes).toString('hex');
}

async function keyPair(rsa: boolean): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(rsa ? RSA : EC, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  return toPem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
}

/**
 * A throwaway certificate authority for tests: a self-signed root (optionally with an intermediate)
 * that issues SPIFFE workload certificates and plain server/client certificates.
 */
export class TestCa {
  readonly certPem: string;
  readonly keyPem: string;
  /** PEM of this CA followed by its parents up to (and including) the root. */
  readonly chainPem: string;
  readonly trustDomain: string;
  readonly #cert: x509.X509Certificate;
  readonly #keys: CryptoKeyPair;
  readonly #signingAlg: Algorithm;

  private constructor(
    cert: x509.X509Certificate,
    keys: CryptoKeyPair,
    keyPem: string,
    chainPem: string,
    trustDomain: string,
    signingAlg: Algorithm,
  ) {
    this.#cert = cert;
    this.#keys = keys;
    this.certPem = cert.toString('pem').concat('\n');
    this.keyPem = keyPem;
    this.chainPem = chainPem;
    this.trustDomain = trustDomain;
    this.#signingAlg = signingAlg;
  }

  /** A new self-signed root. */
  static async create(
    options: {
      name?: string;
      trustDomain?: string;
      ttlSeconds?: number;
      rsa?: boolean;
      notBefore?: Date;
    } = {},
  ): Promise<TestCa> {
    const rsa = options.rsa ?? false;
    const keys = await keyPair(rsa);
    const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: `CN=${options.name ?? 'Weft Test Root CA'}, O=Weft Test`,
      notBefore,
      notAfter: new Date(notBefore.getTime() + (options.ttlSeconds ?? 10 * 365 * 86400) * 1000),
      keys,
      signingAlgorithm: rsa ? RSA : EC,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const pem = cert.toString('pem').concat('\n');
    return new TestCa(
      cert,
      keys,
      await exportKeyPem(keys.privateKey),
      pem,
      options.trustDomain ?? 'cluster.local',
      rsa ? RSA : EC,
    );
  }

  /** An intermediate CA signed by this one (Istio's plug-in `cacerts` layout uses one). */
  async intermediate(options: { name?: string; ttlSeconds?: number } = {}): Promise<TestCa> {
    const keys = await keyPair(false);
    const notBefore = new Date(Date.now() - 60_000);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: `CN=${options.name ?? 'Weft Test Intermediate CA'}, O=Weft Test`,
      issuer: this.#cert.subject,
      notBefore,
      notAfter: new Date(notBefore.getTime() + (options.ttlSeconds ?? 5 * 365 * 86400) * 1000),
      publicKey: keys.publicKey,
      signingKey: this.#keys.privateKey,
      signingAlgorithm: this.#signingAlg,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(this.#keys.publicKey),
      ],
    });
    const pem = cert.toString('pem').concat('\n');
    return new TestCa(
      cert,
      keys,
      await exportKeyPem(keys.privateKey),
      pem + this.chainPem,
      this.trustDomain,
      EC,
    );
  }

  /** Any certificate signed by this CA. */
  async issue(options: IssueOptions): Promise<TestCredential> {
    const keys = await keyPair(options.rsa ?? false);
    const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
    const notAfter = new Date(notBefore.getTime() + (options.ttlSeconds ?? 3600) * 1000);
    const names: x509.JsonGeneralName[] = [
      ...(options.uris ?? []).map((value) => ({ type: 'url' as const, value })),
      ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ];
    const usages = options.usages ?? ['server', 'client'];
    const serial = randomSerial();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: options.commonName === undefined ? '' : `CN=${options.commonName}`,
      issuer: this.#cert.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: this.#keys.privateKey,
      signingAlgorithm: this.#signingAlg,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        new x509.ExtendedKeyUsageExtension(
          usages.map((u) =>
            u === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
          ),
          false,
        ),
        ...(names.length > 0
          ? [new x509.SubjectAlternativeNameExtension(names, options.commonName === undefined)]
          : []),
        await x509.AuthorityKeyIdentifierExtension.create(this.#keys.publicKey),
      ],
    });
    const certPem = cert.toString('pem').concat('\n');
    // Leaf first, then the intermediates; the root is the peer's trust anchor and is not sent.
    const intermediates = this.isRoot
      ? ''
      : this.chainPem.slice(0, this.chainPem.length - this.rootPem.length);
    return {
      certPem,
      keyPem: await exportKeyPem(keys.privateKey),
      chainPem: certPem + intermediates,
      serial,
      notBefore,
      notAfter,
    };
  }

  /** A SPIFFE workload certificate: one URI SAN, no CN, as Weft's CA issues them. */
  async workload(
    namespace: string,
    serviceAccount: string,
    options: Omit<IssueOptions, 'uris'> = {},
  ): Promise<TestCredential & { spiffeId: string }> {
    const spiffeId = `spiffe://${this.trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
    return { ...(await this.issue({ ...options, uris: [spiffeId] })), spiffeId };
  }

  get isRoot(): boolean {
    return this.chainPem === this.certPem;
  }

  /** The root certificate's PEM (the trust anchor to configure on peers). */
  get rootPem(): string {
    const parts =
      this.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
    const last = parts[parts.length - 1] ?? this.certPem;
    return last.endsWith('\n') ? last : `${last}\n`;
  }
}
