import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, TLSSocket } from 'node:tls';
import {
  CertificateManager,
  IstioCaClient,
  peerSpiffeId,
  spiffeIdsOf,
  TrustBundle,
  TrustBundleWatcher,
} from '@weft/certs';
import { afterAll, describe, expect, it } from 'vitest';
import { BootstrapTokenAuthenticator } from './authn.js';
import { CertificateAuthority } from './authority.js';
import { staticPlacement } from './authz.js';
import { type CaServer, startCaServer } from './server.js';
import { DirectoryCaStore } from './store.js';

const CLIENT = 'spiffe://cluster.local/ns/prod/sa/orders';
const SERVER = 'spiffe://cluster.local/ns/prod/sa/payments';
const TTL_SECONDS = 3;

async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setTimeout(r, 20));
  }
}

/** One node: its trust bundle (followed from pilot) and its certificate manager. */
function node(caPort: number, token: string, bootstrapRoots: readonly string[]) {
  const bundle = new TrustBundle(bootstrapRoots);
  const conn = { address: `127.0.0.1:${caPort}`, roots: () => bundle.roots, token: () => token };
  const watcher = new TrustBundleWatcher({ ...conn, bundle, backoff: { initialMs: 50, maxMs: 500 } });
  watcher.start();
  const signer = new IstioCaClient(conn);
  const mgr = new CertificateManager({
    signer,
    bundle,
    ttlSeconds: TTL_SECONDS,
    backoff: { initialMs: 50, maxMs: 1000 },
  });
  let rotations = 0;
  mgr.onRotation(() => rotations++);
  return {
    bundle,
    mgr,
    rotations: () => rotations,
    close() {
      mgr.close();
      watcher.stop();
      signer.close();
    },
  };
}

describe('certificate and root rotation under continuous mTLS reconnects', () => {
  const cleanups: (() => unknown)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('completes every handshake while leaf certificates renew and the root goes add → switch → retire', {
    timeout: 90_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-rot-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const ca = await CertificateAuthority.open(new DirectoryCaStore(dir), {
      defaultTtlSeconds: TTL_SECONDS,
      maxTtlSeconds: TTL_SECONDS,
    });
    const caServer: CaServer = await startCaServer({
      ca,
      port: 0,
      host: '127.0.0.1',
      authenticator: new BootstrapTokenAuthenticator({
        'node1-token-0001': { kind: 'node', node: 'node1' },
        'node2-token-0002': { kind: 'node', node: 'node2' },
      }),
      placement: staticPlacement({ node1: [CLIENT], node2: [SERVER] }),
    });
    cleanups.push(() => caServer.close());

    const n1 = node(caServer.port, 'node1-token-0001', ca.bundle().roots);
    const n2 = node(caServer.port, 'node2-token-0002', ca.bundle().roots);
    cleanups.push(
      () => n1.close(),
      () => n2.close(),
    );
    await Promise.all([n1.mgr.getCertificate(CLIENT), n2.mgr.getCertificate(SERVER)]);

    // node2 serves mTLS with the SecureContext current at accept time; it answers "ok" to CLIENT only.
    const server: Server = createServer({ noDelay: true, allowHalfOpen: true }, (raw) => {
      const ctx = n2.mgr.secureContext(SERVER);
      if (ctx === undefined) {
        raw.destroy();
        return;
      }
      const s = new TLSSocket(raw, {
        isServer: true,
        secureContext: ctx,
        requestCert: true,
        rejectUnauthorized: true,
      });
      s.on('error', () => s.destroy());
      s.on('secure', () => {
        if (peerSpiffeId(s) === CLIENT) s.end('ok');
        else s.destroy();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const port = (server.address() as AddressInfo).port;

    let ok = 0;
    const failures: string[] = [];
    let running = true;
    const handshake = () =>
      new Promise<void>((resolve) => {
        const ctx = n1.mgr.secureContext(CLIENT);
        if (ctx === undefined) {
          failures.push('client has no certificate');
          resolve();
          return;
        }
        const sock = connect({
          host: '127.0.0.1',
          port,
          secureContext: ctx,
          checkServerIdentity: (_host, cert) =>
            spiffeIdsOf(cert)[0] === SERVER ? undefined : new Error(`server is ${spiffeIdsOf(cert)[0]}`),
        });
        sock.setNoDelay(true);
        let got = '';
        sock.on('data', (d: Buffer) => {
          got += d.toString();
        });
        sock.on('error', (err) => {
          failures.push(err.message);
          sock.destroy();
          resolve();
        });
        sock.on('end', () => {
          if (got === 'ok') ok++;
          else failures.push(`unexpected answer "${got}"`);
          sock.destroy();
          resolve();
        });
      });
    const loops = Array.from({ length: 3 }, async () => {
      while (running) await handshake();
    });

    const rootsOf = (n: typeof n1) => n.bundle.roots.length;
    const mark = () => ({ r1: n1.rotations(), r2: n2.rotations(), ok });
    const progressed = async (what: string) => {
      const m = mark();
      await until(() => n1.rotations() >= m.r1 + 2 && n2.rotations() >= m.r2 + 2 && ok >= m.ok + 20, what);
    };

    await progressed('leaf renewals with the first root');
    const [oldRoot] = ca.bundle().roots;

    await ca.rotate('add');
    await until(() => rootsOf(n1) === 2 && rootsOf(n2) === 2, 'both nodes to trust the new root');
    await progressed('renewals after the new root was added');
    expect(n1.mgr.current(CLIENT)?.rootPem).toBe(oldRoot);

    await ca.rotate('switch');
    const newRoot = ca.bundle().roots[1];
    await until(
      () => n1.mgr.current(CLIENT)?.rootPem === newRoot && n2.mgr.current(SERVER)?.rootPem === newRoot,
      'certificates from the new root',
    );
    await progressed('renewals from the new root');

    const safeAt = Date.parse(ca.status().retireSafeAt ?? '');
    await until(() => Date.now() >= safeAt, 'every old-root certificate to expire');
    await ca.rotate('retire');
    await until(() => rootsOf(n1) === 1 && rootsOf(n2) === 1, 'both nodes to drop the old root');
    expect(n1.bundle.roots).toEqual([newRoot]);
    await progressed('renewals after the old root was retired');

    running = false;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(100);
  });
});
