import { createPrivateKey, type X509Certificate } from 'node:crypto';
import { WeftError } from '@weft/telemetry';
import { type CertificateInfo, certificateInfo, parseCertificates } from './certificate.js';

export interface ChainCheck {
  /** As the CA returned it: leaf first; elements may hold one or several PEM certificates. */
  chainPem: readonly string[];
  /** The SPIFFE ID that was requested: the leaf's only URI SAN must equal it. */
  identity: string;
  roots: readonly X509Certificate[];
  /** Milliseconds since the epoch. */
  now: number;
  /** When given, the leaf's public key must belong to this private key. */
  keyPem?: string;
}

export interface ValidatedChain {
  leaf: CertificateInfo;
  /** PEM of the leaf and intermediates (not the root): what to present in a handshake. */
  presented: string[];
  /** The trusted root the chain ends at. */
  root: X509Certificate;
}

function reject(code: string, message: string, details?: Record<string, unknown>): WeftError {
  return new WeftError(code, message, details === undefined ? undefined : { details });
}

/**
 * Checks a chain the CA returned before using it: parseable, leaf identity equals the request, every
 * link signed by the next, ends at a trusted root, and everything valid now. Throws a WeftError with
 * one of WEFT_CERTS_CHAIN_EMPTY / BAD_PEM / IDENTITY_MISMATCH / KEY_MISMATCH / UNTRUSTED /
 * NOT_YET_VALID / EXPIRED.
 */
export function validateChain(check: ChainCheck): ValidatedChain {
  const certs = parseCertificates(check.chainPem.join('\n'));
  const leafCert = certs[0];
  if (leafCert === undefined) throw reject('WEFT_CERTS_CHAIN_EMPTY', 'the CA returned no certificate');
  const leaf = certificateInfo(leafCert);
  if (leaf.isCa) throw reject('WEFT_CERTS_IDENTITY_MISMATCH', 'the CA returned a CA certificate as the leaf');
  if (leaf.uris.length !== 1 || leaf.uris[0] !== check.identity)
    throw reject(
      'WEFT_CERTS_IDENTITY_MISMATCH',
      `the certificate is for ${JSON.stringify(leaf.uris)}, not the requested ${check.identity}`,
      { requested: check.identity, got: leaf.uris },
    );
  if (check.keyPem !== undefined && !leafCert.checkPrivateKey(createPrivateKey(check.keyPem)))
    throw reject('WEFT_CERTS_KEY_MISMATCH', "the certificate's public key is not the key we sent in the CSR");

  for (const c of certs) {
    const info = c === leafCert ? leaf : certificateInfo(c);
    if (check.now < info.notBefore)
      throw reject(
        'WEFT_CERTS_NOT_YET_VALID',
        `certificate ${info.serial} is not valid before ${new Date(info.notBefore).toISOString()}; check clock skew between nodes and the CA`,
      );
    if (check.now >= info.notAfter)
      throw reject(
        'WEFT_CERTS_EXPIRED',
        `certificate ${info.serial} expired at ${new Date(info.notAfter).toISOString()}`,
      );
  }

  for (let i = 0; i + 1 < certs.length; i++) {
    const child = certs[i]!;
    const parent = certs[i + 1]!;
    if (!parent.ca || !child.checkIssued(parent) || !child.verify(parent.publicKey))
      throw reject('WEFT_CERTS_UNTRUSTED', `the chain is broken between certificates ${i} and ${i + 1}`);
  }

  const last = certs[certs.length - 1]!;
  let root = check.roots.find((r) => r.fingerprint256 === last.fingerprint256);
  let presentedCount = certs.length - (root === undefined ? 0 : 1);
  if (root === undefined) {
    root = check.roots.find((r) => last.checkIssued(r) && last.verify(r.publicKey));
    presentedCount = certs.length;
  }
  if (root === undefined)
    throw reject(
      'WEFT_CERTS_UNTRUSTED',
      'the chain does not end at a root in the trust bundle; the CA may have rotated to a root this client has not learned yet',
      { issuer: last.issuer },
    );
  if (presentedCount === 0) presentedCount = 1;
  return { leaf, presented: certs.slice(0, presentedCount).map((c) => c.toString()), root };
}
