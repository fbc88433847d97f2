/**
 * The source principal of a client certificate at a MUTUAL gateway, as Envoy's RBAC sees it: the first
 * URI SAN, else the first DNS SAN, else the subject. Istio writes a policy's `principals: ["x"]` as
 * `spiffe://x`, so a URI SAN `spiffe://test.client` is the principal `test.client`; @weft/policy strips
 * the `spiffe://` prefix itself. Pure.
 */
import type { PeerCertificate } from 'node:tls';
import { parseSubjectAltName } from '@weft/certs';

export function certificatePrincipal(cert: PeerCertificate | undefined | null): string {
  if (cert === undefined || cert === null || Object.keys(cert).length === 0) return '';
  const sans = parseSubjectAltName(cert.subjectaltname);
  const uri = sans.find(([k]) => k === 'URI');
  if (uri !== undefined) return uri[1];
  const dns = sans.find(([k]) => k === 'DNS');
  if (dns !== undefined) return dns[1];
  const subject = cert.subject as unknown as Record<string, string | string[]> | undefined;
  if (subject === undefined) return '';
  return Object.entries(subject)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
    .join(',');
}

/** True when one of the certificate's SANs is in `allowed` (or `allowed` is empty). */
export function sanAllowed(cert: PeerCertificate, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  const sans = parseSubjectAltName(cert.subjectaltname).map(([, v]) => v);
  return allowed.some((a) => sans.includes(a));
}
