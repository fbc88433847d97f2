import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyAndCsr, toPem, validateChain } from '@weft/certs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CaChange, CertificateAuthority } from './authority.js';
import { staticPlacement } from './authz.js';
import { startCa } from './index.js';
import { type PluginWatch, watchPluginCa } from './plugin-watch.js';
import { DirectoryCaStore, loadPluginCa, type PluginCa } from './store.js';
import { buildCertificate, createRoot, issuerFrom, newKey } from './x509.js';

const ID = 'spiffe://cluster.local/ns/prod/sa/orders';
const HOUR = 3600_000;

interface Root {
  certPem: string;
  keyPem: string;
}

function root(name: string): Root {
  return createRoot({
    commonName: name,
    organization: 'cluster.local',
    notBefore: new Date(Date.now() - HOUR),
    notAfter: new Date(Date.now() + 24 * HOUR),
  });
}

/** An intermediate signed by `r`, as Istio's cacerts layout wants it (roots = the bundle to publish). */
function pluginFiles(r: Root, name: string, roots: readonly Root[]): PluginCa {
  const key = newKey();
  const der = buildCertificate(
    {
      spki: key.spki,
      notBefore: new Date(Date.now() - HOUR),
      notAfter: new Date(Date.now() + 24 * HOUR),
      subject: { commonName: name, organization: 'cluster.local' },
      ca: true,
    },
    issuerFrom(new X509Certificate(r.certPem).raw, r.keyPem),
  );
  const caCertPem = toPem('CERTIFICATE', der);
  return {
    caCertPem,
    caKeyPem: key.keyPem,
    rootCertPem: roots.map((x) => x.certPem).join(''),
    certChainPem: caCertPem + r.certPem,
  };
}

const FILES: Record<keyof PluginCa, string> = {
  caCertPem: 'ca-cert.pem',
  caKeyPem: 'ca-key.pem',
  rootCertPem: 'root-cert.pem',
  certChainPem: 'cert-chain.pem',
};

function writePlugin(dir: string, p: Partial<PluginCa>): void {
  for (const [k, f] of Object.entries(FILES)) {
    const v = p[k as keyof PluginCa];
    if (v !== undefined) writeFileSync(join(dir, f), v);
  }
}

/** Issues a leaf and says which intermediate signed it, checked against `roots`. */
async function issue(ca: CertificateAuthority, roots: readonly Root[]): Promise<string> {
  const chain = ca.sign((await generateKeyAndCsr(ID)).csrPem, ID, 600);
  validateChain({
    chainPem: chain,
    identity: ID,
    roots: roots.map((r) => new X509Certificate(r.certPem)),
    now: Date.now(),
  });
  return new X509Certificate(chain[0] as string).issuer;
}

describe('plug-in CA reload (cacerts rotation without a restart)', () => {
  let dir: string;
  const watches: PluginWatch[] = [];
  const oldRoot = root('Old Root');
  const newRoot = root('New Root');
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'weft-plugin-'));
  });
  afterEach(() => {
    for (const w of watches.splice(0)) w.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function setup(name: string): { ca: CertificateAuthority; cacerts: string; changes: CaChange[] } {
    const cacerts = join(dir, name);
    mkdirSync(cacerts);
    const first = pluginFiles(oldRoot, 'Intermediate A', [oldRoot]);
    writePlugin(cacerts, first);
    const ca = CertificateAuthority.fromPlugin(first);
    const changes: CaChange[] = [];
    ca.onChange((c) => changes.push(c));
    return { ca, cacerts, changes };
  }

  it('switches intermediates, then roots in Istio’s order (both roots first), notifying bundle followers', async () => {
    const { ca, changes } = setup('order');
    expect(await issue(ca, [oldRoot])).toContain('Intermediate A');
    const v1 = ca.bundle().version;

    // A new intermediate under the same root: new leaves use it; the bundle stays.
    expect(ca.reloadPlugin(pluginFiles(oldRoot, 'Intermediate B', [oldRoot]))).toEqual({
      bundleChanged: false,
      issuerChanged: true,
    });
    expect(await issue(ca, [oldRoot])).toContain('Intermediate B');
    expect(changes).toEqual(['issuer']);

    // Stage 1: both roots in root-cert.pem, still signing under the old one.
    const both = pluginFiles(oldRoot, 'Intermediate B2', [oldRoot, newRoot]);
    expect(ca.reloadPlugin(both).bundleChanged).toBe(true);
    expect(ca.bundle().version).toBe(v1 + 1);
    expect(ca.bundle().roots).toEqual(
      [oldRoot.certPem, newRoot.certPem].map((p) => new X509Certificate(p).toString()),
    );
    // Stage 2: the new root's intermediate; the bundle (both roots) does not change.
    const switched = pluginFiles(newRoot, 'Intermediate C', [oldRoot, newRoot]);
    expect(ca.reloadPlugin(switched)).toEqual({ bundleChanged: false, issuerChanged: true });
    expect(await issue(ca, [newRoot])).toContain('Intermediate C');
    const status = ca.status();
    expect(status.roots.map((r) => r.issuing)).toEqual([false, true]);
    expect(status.plugin?.reloads).toBe(3);
    expect(changes).toEqual(['issuer', 'bundle', 'issuer', 'issuer']);
  });

  it('refuses an inconsistent set and keeps signing with the previous one', async () => {
    const { ca } = setup('bad');
    const next = pluginFiles(oldRoot, 'Intermediate D', [oldRoot]);
    expect(() => ca.reloadPlugin({ ...next, caKeyPem: newKey().keyPem })).toThrow(
      expect.objectContaining({ code: 'WEFT_CA_PLUGIN_INVALID' }),
    );
    expect(() => ca.reloadPlugin({ ...next, rootCertPem: newRoot.certPem })).toThrow(
      expect.objectContaining({ code: 'WEFT_CA_PLUGIN_INVALID' }),
    );
    expect(ca.status().plugin?.lastError?.code).toBe('WEFT_CA_PLUGIN_INVALID');
    expect(await issue(ca, [oldRoot])).toContain('Intermediate A');
  });

  it('startCa signs with the self-signed root when the cacerts directory is empty (an optional Secret), and follows it when not', async () => {
    const empty = join(dir, 'empty-cacerts');
    mkdirSync(empty);
    const none = await startCa({
      pluginDir: empty,
      store: join(dir, 'fallback-store'),
      authenticator: { authenticate: async () => ({ kind: 'node', node: 'n', name: 'n' }) },
      placement: staticPlacement({}),
      port: 0,
      host: '127.0.0.1',
    });
    expect(none.authority.status()).toMatchObject({ mode: 'self-signed' });
    await none.close();
    const { cacerts } = setup('started');
    const plug = await startCa({
      pluginDir: cacerts,
      authenticator: { authenticate: async () => ({ kind: 'node', node: 'n', name: 'n' }) },
      placement: staticPlacement({}),
      port: 0,
      host: '127.0.0.1',
    });
    try {
      writePlugin(cacerts, pluginFiles(oldRoot, 'Intermediate H', [oldRoot]));
      await expect.poll(() => plug.authority.status().plugin?.reloads, { timeout: 5000 }).toBe(1);
      expect(await issue(plug.authority, [oldRoot])).toContain('Intermediate H');
    } finally {
      await plug.close();
    }
  });

  it('is only for plug-in CAs', async () => {
    const self = await CertificateAuthority.open(new DirectoryCaStore(join(dir, 'self')));
    expect(() => self.reloadPlugin(pluginFiles(oldRoot, 'X', [oldRoot]))).toThrow(
      expect.objectContaining({ code: 'WEFT_CA_NOT_PLUGIN' }),
    );
    expect(self.status().plugin).toBeUndefined();
  });

  it('follows the directory: a half-copied set waits, the complete one is taken', async () => {
    const { ca, cacerts } = setup('watch');
    const w = watchPluginCa(cacerts, ca, { debounceMs: 20 });
    watches.push(w);
    const next = pluginFiles(oldRoot, 'Intermediate E', [oldRoot]);
    // Only the certificate so far: it does not match the key on disk.
    writePlugin(cacerts, { caCertPem: next.caCertPem });
    await expect.poll(() => ca.status().plugin?.lastError?.code).toBe('WEFT_CA_PLUGIN_INVALID');
    expect(await issue(ca, [oldRoot])).toContain('Intermediate A');
    writePlugin(cacerts, next);
    await expect.poll(() => ca.status().plugin?.reloads, { timeout: 5000 }).toBe(1);
    expect(await issue(ca, [oldRoot])).toContain('Intermediate E');
    // A missing file is reported, the CA keeps the last good set.
    rmSync(join(cacerts, 'ca-key.pem'));
    await w.check();
    expect(ca.status().plugin?.lastError?.code).toBe('WEFT_CA_PLUGIN_FILES');
    expect(await issue(ca, [oldRoot])).toContain('Intermediate E');
  });

  it('follows a Kubernetes Secret volume (files are links into a ..data directory swapped at once)', async () => {
    const vol = join(dir, 'secret-volume');
    mkdirSync(vol);
    const version = (n: number, p: PluginCa) => {
      const d = join(vol, `..v${n}`);
      mkdirSync(d);
      writePlugin(d, p);
      symlinkSync(`..v${n}`, join(vol, '..data_tmp'));
      renameSync(join(vol, '..data_tmp'), join(vol, '..data'));
    };
    const first = pluginFiles(oldRoot, 'Intermediate F', [oldRoot]);
    version(1, first);
    for (const f of Object.values(FILES)) symlinkSync(join('..data', f), join(vol, f));
    const ca = CertificateAuthority.fromPlugin(await loadPluginCa(vol));
    watches.push(watchPluginCa(vol, ca, { debounceMs: 20 }));
    version(2, pluginFiles(newRoot, 'Intermediate G', [oldRoot, newRoot]));
    await expect.poll(() => ca.status().plugin?.reloads, { timeout: 5000 }).toBe(1);
    expect(await issue(ca, [newRoot])).toContain('Intermediate G');
    expect(ca.bundle().roots).toHaveLength(2);
  });
});
