import { WeftError } from '@weft/telemetry';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

export interface PemBlock {
  label: string;
  der: Buffer;
}

/** Every PEM block in `text`, in order. Base64 that does not round-trip is rejected. */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const body = (m[2] ?? '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length === 0)
      throw new WeftError('WEFT_CERTS_BAD_PEM', `malformed base64 in a PEM ${m[1]} block`);
    out.push({ label: m[1] ?? '', der: Buffer.from(body, 'base64') });
  }
  return out;
}

/** The PEM certificates in `text`, each normalised to one block ending in a newline. */
export function splitCertificates(text: string): string[] {
  return pemBlocks(text)
    .filter((b) => b.label === 'CERTIFICATE')
    .map((b) => toPem('CERTIFICATE', b.der));
}

export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}
