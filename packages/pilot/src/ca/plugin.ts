/** What a CA signs with, and Istio's plug-in `cacerts` files checked into it. */
import { X509Certificate } from 'node:crypto';
import { splitCertificates } from '@weft/certs';
import { WeftError } from '@weft/telemetry';
import type { PluginCa } from './store.js';
import { type Issuer, issuerFrom } from './x509.js';

export interface Material {
  issuer: Issuer;
  /** Intermediates and the root, appended after each leaf. */
  chainAfterLeaf: string[];
  roots: string[];
  issuerNotAfter: number;
}

/**
 * Checks a set of plug-in CA files as a whole — every certificate parses, the key belongs to ca-cert.pem,
 * cert-chain.pem is unbroken and ends at a root in root-cert.pem — and returns what to sign with.
 * Throws WEFT_CA_PLUGIN_INVALID otherwise.
 */
export function pluginMaterial(plugin: PluginCa): Material {
  const invalid = (why: string, cause?: unknown) =>
    new WeftError('WEFT_CA_PLUGIN_INVALID', `plug-in CA files are inconsistent: ${why}`, { cause });
  let caCert: X509Certificate;
  let chain: X509Certificate[];
  let roots: X509Certificate[];
  try {
    caCert = new X509Certificate(plugin.caCertPem);
    chain = splitCertificates(plugin.certChainPem).map((p) => new X509Certificate(p));
    roots = splitCertificates(plugin.rootCertPem).map((p) => new X509Certificate(p));
  } catch (err) {
    throw invalid('a certificate does not parse', err);
  }
  if (!caCert.ca) throw invalid('ca-cert.pem is not a CA certificate');
  let issuer: Issuer;
  try {
    issuer = issuerFrom(caCert.raw, plugin.caKeyPem);
    if (!caCert.checkPrivateKey(issuer.key)) throw invalid('ca-key.pem does not belong to ca-cert.pem');
  } catch (err) {
    if (err instanceof WeftError) throw err;
    throw invalid('ca-key.pem is unreadable', err);
  }
  if (chain[0]?.fingerprint256 !== caCert.fingerprint256) chain.unshift(caCert);
  for (let i = 0; i + 1 < chain.length; i++)
    if (!chain[i]!.verify(chain[i + 1]!.publicKey)) throw invalid(`cert-chain.pem is broken at ${i}`);
  const top = chain[chain.length - 1]!;
  if (
    !roots.some(
      (r) => r.fingerprint256 === top.fingerprint256 || (top.checkIssued(r) && top.verify(r.publicKey)),
    )
  )
    throw invalid('cert-chain.pem does not lead to a certificate in root-cert.pem');
  if (roots.length === 0) throw invalid('root-cert.pem holds no certificate');
  const chainPems = chain.map((c) => c.toString());
  if (!roots.some((r) => r.fingerprint256 === top.fingerprint256)) {
    const root = roots.find((r) => top.checkIssued(r));
    if (root !== undefined) chainPems.push(root.toString());
  }
  return {
    issuer,
    chainAfterLeaf: chainPems,
    roots: roots.map((r) => r.toString()),
    issuerNotAfter: Date.parse(caCert.validTo),
  };
}
