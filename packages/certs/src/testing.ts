// Test support (not exported from the package): a CA that signs CSRs and can misbehave on request.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { createServer as createNetServer, type Server } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import * as x509 from '@peculiar/x509';
import type { TestCa } from '@weft/testkit';
import type { CertificateSigner } from './manager.js';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface Tamper {
  identity?: string;
  notBefore?: number;
  notAfter?: number;
  /** Sign with this CA instead (e.g. one the client does not trust). */
  ca?: TestCa;
  /** Return only this (e.g. an empty chain). */
  chain?: string[];
}

async function importKey(pem: string): Promise<webcrypto.CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s+/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
}

/** Signs CSRs with a TestCa, honouring the requested TTL against an injectable clock. */
export class CsrSigner implements CertificateSigner {
  calls = 0;
  tamper: Tamper | undefined;
  fail: Error | undefined;
  /** When set, sign() waits for this before answering (to observe in-flight limits). */
  gate: Promise<void> | undefined;
  inFlight = 0;
  maxInFlight = 0;

  constructor(
    public ca: TestCa,
    private readonly now: () => number = Date.now,
  ) {}

  async sign(req: { csrPem: string; identity: string; ttlSeconds: number }): Promise<string[]> {
    this.calls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.gate !== undefined) await this.gate;
      if (this.fail !== undefined) throw this.fail;
      const t = this.tamper ?? {};
      if (t.chain !== undefined) return t.chain;
      const ca = t.ca ?? this.ca;
      const csr = new x509.Pkcs10CertificateRequest(req.csrPem);
      const issuer = new x509.X509Certificate(ca.certPem);
      const notBefore = t.notBefore ?? this.now();
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8)))
          .toString('hex')
          .replace(/^[89a-f]/, '1'),
        subject: '',
        issuer: issuer.subject,
        notBefore: new Date(notBefore),
        notAfter: new Date(t.notAfter ?? notBefore + req.ttlSeconds * 1000),
        publicKey: await csr.publicKey.export(EC, ['verify']),
        signingKey: await importKey(ca.keyPem),
        signingAlgorithm: EC,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.SubjectAlternativeNameExtension(
            [{ type: 'url', value: t.identity ?? req.identity }],
            true,
          ),
        ],
      });
      return [
        cert.toString('pem'),
        ...ca.chainPem.split(/(?<=-----END CERTIFICATE-----\n?)/).filter((s) => s.trim() !== ''),
      ];
    } finally {
      this.inFlight--;
    }
  }
}

/**
 * An mTLS server whose SecureContext is chosen per connection (tls.createServer cannot take a
 * SecureContext), the way a rotating server uses the certificate client.
 */
export function mtlsServer(context: () => SecureContext, onSecure: (socket: TLSSocket) => void): Server {
  return createNetServer({ noDelay: true, allowHalfOpen: true }, (raw) => {
    const tlsSocket = new TLSSocket(raw, {
      isServer: true,
      secureContext: context(),
      requestCert: true,
      rejectUnauthorized: true,
    });
    tlsSocket.on('error', () => tlsSocket.destroy());
    tlsSocket.on('secure', () => onSecure(tlsSocket));
  });
}
