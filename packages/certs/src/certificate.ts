import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { WeftError } from '@weft/telemetry';
import { splitCertificates } from './pem.js';

/** A certificate's facts, read once. */
export interface CertificateInfo {
  /** Upper-case hex, as Node reports it. */
  serial: string;
  notBefore: number;
  notAfter: number;
  uris: string[];
  dnsNames: string[];
  isCa: boolean;
}

// Node renders subjectAltName as `URI:a, DNS:b`; values with separators are JSON-quoted.
const SAN_ENTRY = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;

/** The entries of Node's `subjectaltname` string, as [kind, value] pairs. */
export function parseSubjectAltName(text: string | undefined): [string, string][] {
  if (text === undefined || text === '') return [];
  const out: [string, string][] = [];
  for (const m of text.matchAll(SAN_ENTRY)) {
    let v = m[2] ?? '';
    if (v.startsWith('"')) {
      try {
        v = JSON.parse(v) as string;
      } catch {
        continue;
      }
    }
    out.push([m[1] ?? '', v]);
  }
  return out;
}

export function certificateInfo(cert: X509Certificate): CertificateInfo {
  const sans = parseSubjectAltName(cert.subjectAltName);
  return {
    serial: cert.serialNumber.toUpperCase(),
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    uris: sans.filter(([k]) => k === 'URI').map(([, v]) => v),
    dnsNames: sans.filter(([k]) => k === 'DNS').map(([, v]) => v),
    isCa: cert.ca,
  };
}

/** Parses one PEM certificate; WEFT_CERTS_BAD_PEM if it is not one. */
export function parseCertificate(pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new WeftError('WEFT_CERTS_BAD_PEM', 'not a PEM X.509 certificate', { cause: err });
  }
}

/** Parses every certificate in a PEM bundle (leaf first for chains). */
export function parseCertificates(pem: string): X509Certificate[] {
  return splitCertificates(pem).map(parseCertificate);
}

/**
 * The SPIFFE IDs (URI SANs starting with spiffe://) of a peer certificate, from
 * `tls.TLSSocket#getPeerCertificate()` or an X509Certificate. Node's TLS does not check them: callers do.
 */
export function spiffeIdsOf(cert: PeerCertificate | X509Certificate | null | undefined): string[] {
  if (cert === null || cert === undefined) return [];
  const text = cert instanceof X509Certificate ? cert.subjectAltName : cert.subjectaltname;
  return parseSubjectAltName(text)
    .filter(([k, v]) => k === 'URI' && v.startsWith('spiffe://'))
    .map(([, v]) => v);
}

/** The peer's identity: the first SPIFFE URI SAN of its certificate, or undefined. */
export function peerSpiffeId(socket: {
  getPeerCertificate(detailed?: boolean): PeerCertificate;
}): string | undefined {
  const cert = socket.getPeerCertificate();
  // An empty object means no certificate was presented.
  if (cert === null || Object.keys(cert).length === 0) return undefined;
  return spiffeIdsOf(cert)[0];
}
