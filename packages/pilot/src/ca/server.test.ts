import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CertificateManager,
  generateKeyAndCsr,
  IstioCaClient,
  TrustBundle,
  TrustBundleWatcher,
} from '@weft/certs';
import { createLogger, Registry } from '@weft/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootstrapTokenAuthenticator } from './authn.js';
import { CertificateAuthority } from './authority.js';
import { staticPlacement } from './authz.js';
import { type CaServer, startCaServer } from './server.js';
import { DirectoryCaStore } from './store.js';

const POD_A = 'spiffe://cluster.local/ns/prod/sa/orders';
const POD_B = 'spiffe://cluster.local/ns/prod/sa/payments';
const WAYPOINT = 'spiffe://cluster.local/ns/prod/sa/waypoint';

describe('CA server over gRPC/TLS', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let server: CaServer;
  let registry: Registry;
  const logLines: string[] = [];
  const client = (token: string | undefined, impersonate = true) =>
    new IstioCaClient({
      address: `127.0.0.1:${server.port}`,
      roots: () => ca.bundle().roots,
      token: () => token,
      impersonate,
      timeoutMs: 5000,
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-ca-srv-'));
    ca = await CertificateAuthority.open(new DirectoryCaStore(dir), {
      defaultTtlSeconds: 3600,
      maxTtlSeconds: 7200,
    });
    registry = new Registry();
    server = await startCaServer({
      ca,
      port: 0,
      host: '127.0.0.1',
      registry,
      logger: createLogger({
        name: 'weft-pilot',
        level: 'debug',
        destination: { write: (line: string) => void logLines.push(line) },
      }),
      authenticator: new BootstrapTokenAuthenticator({
        'node1-token-0001': { kind: 'node', node: 'node1' },
        'node2-token-0002': { kind: 'node', node: 'node2' },
        'waypoint-token-03': { kind: 'workload', identity: WAYPOINT },
        'expired-token-004': { kind: 'node', node: 'node1', expires: '2020-01-01T00:00:00Z' },
      }),
      placement: staticPlacement({ node1: [POD_A], node2: [POD_B] }),
    });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('issues to a node agent for a pod on its node, through the certificate client', async () => {
    const bundle = new TrustBundle(ca.bundle().roots);
    const signer = client('node1-token-0001');
    const mgr = new CertificateManager({ signer, bundle, ttlSeconds: 600, registry });
    const cert = await mgr.getCertificate(POD_A);
    expect(cert.notAfter - cert.notBefore).toBe(600_000 + 60_000);
    expect(mgr.secureContext(POD_A)).toBeDefined();
    mgr.close();
    signer.close();
  });

  it('a waypoint gets only its own identity, with or without ImpersonatedIdentity', async () => {
    const own = client('waypoint-token-03', false);
    const { csrPem } = await generateKeyAndCsr(WAYPOINT);
    expect(await own.sign({ csrPem, identity: WAYPOINT, ttlSeconds: 60 })).toHaveLength(2);
    own.close();
    const other = client('waypoint-token-03');
    const { csrPem: csrA } = await generateKeyAndCsr(POD_A);
    await expect(other.sign({ csrPem: csrA, identity: POD_A, ttlSeconds: 60 })).rejects.toMatchObject({
      code: 'WEFT_CERTS_CA_REJECTED',
      details: { grpcCode: 'PERMISSION_DENIED', serverCode: 'WEFT_CA_NOT_OWN_IDENTITY' },
    });
    other.close();
  });

  it('refuses bad requests with a clear status and keeps serving everyone else', async () => {
    const { csrPem: csrA } = await generateKeyAndCsr(POD_A);
    const { csrPem: csrB } = await generateKeyAndCsr(POD_B);
    const node1 = client('node1-token-0001');
    const cases: [Promise<unknown>, string, string][] = [
      // impersonating a pod on another node
      [
        node1.sign({ csrPem: csrB, identity: POD_B, ttlSeconds: 60 }),
        'PERMISSION_DENIED',
        'WEFT_CA_NOT_ON_NODE',
      ],
      [
        client('no-such-token-99').sign({ csrPem: csrA, identity: POD_A, ttlSeconds: 60 }),
        'UNAUTHENTICATED',
        'WEFT_CA_UNAUTHENTICATED',
      ],
      [
        client('expired-token-004').sign({ csrPem: csrA, identity: POD_A, ttlSeconds: 60 }),
        'UNAUTHENTICATED',
        'WEFT_CA_UNAUTHENTICATED',
      ],
      [
        client(undefined).sign({ csrPem: csrA, identity: POD_A, ttlSeconds: 60 }),
        'UNAUTHENTICATED',
        'WEFT_CA_UNAUTHENTICATED',
      ],
      [
        node1.sign({ csrPem: 'garbage', identity: POD_A, ttlSeconds: 60 }),
        'INVALID_ARGUMENT',
        'WEFT_CERTS_BAD_CSR',
      ],
      // a CSR whose SAN is not the requested identity
      [
        node1.sign({ csrPem: csrB, identity: POD_A, ttlSeconds: 60 }),
        'INVALID_ARGUMENT',
        'WEFT_CA_CSR_IDENTITY_MISMATCH',
      ],
      [
        node1.sign({ csrPem: 'x'.repeat(20_000), identity: POD_A, ttlSeconds: 60 }),
        'INVALID_ARGUMENT',
        'WEFT_CA_REQUEST_TOO_LARGE',
      ],
      [
        client('node1-token-0001', false).sign({ csrPem: csrA, identity: POD_A, ttlSeconds: 60 }),
        'INVALID_ARGUMENT',
        'WEFT_CA_NO_IDENTITY',
      ],
    ];
    // Good requests interleaved with the bad ones all succeed.
    const good = Array.from({ length: 5 }, () =>
      node1.sign({ csrPem: csrA, identity: POD_A, ttlSeconds: 60 }),
    );
    const outcomes = await Promise.all(
      cases.map(([p]) =>
        p.then(
          () => 'resolved',
          (err: unknown) => err,
        ),
      ),
    );
    cases.forEach(([, grpcCode, serverCode], i) => {
      expect(outcomes[i]).toMatchObject({ details: { grpcCode, serverCode } });
    });
    for (const chain of await Promise.all(good)) expect(chain).toHaveLength(2);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/weft_ca_refusals_total\{code="WEFT_CA_NOT_ON_NODE"\} 1/);
    expect(metrics).toMatch(/citadel_server_authentication_failure_count 3/);
    node1.close();
  });

  it('logs each refusal with its code, caller and identity, and never the CSR, keys or tokens', () => {
    const refusals = logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'certificate request refused');
    expect(refusals.map((l) => l.code)).toEqual(
      expect.arrayContaining(['WEFT_CA_NOT_ON_NODE', 'WEFT_CERTS_BAD_CSR', 'WEFT_CA_UNAUTHENTICATED']),
    );
    expect(refusals.find((l) => l.code === 'WEFT_CA_NOT_ON_NODE')).toMatchObject({
      caller: 'node/node1',
      identity: POD_B,
    });
    const all = logLines.join('');
    expect(all).not.toMatch(/BEGIN (CERTIFICATE REQUEST|PRIVATE KEY|EC PRIVATE KEY)/);
    expect(all).not.toMatch(/MII[A-Za-z0-9+/]{20}/); // no base64 DER of any CSR, key or certificate
    expect(all).not.toContain('node1-token-0001');
    expect(all).not.toContain('no-such-token-99');
  });

  it('a message over the size limit is refused by gRPC itself', async () => {
    const node1 = client('node1-token-0001');
    await expect(
      node1.sign({ csrPem: 'x'.repeat(100_000), identity: POD_A, ttlSeconds: 60 }),
    ).rejects.toMatchObject({
      code: 'WEFT_CERTS_CA_UNAVAILABLE',
      details: { grpcCode: 'RESOURCE_EXHAUSTED' },
    });
    const { csrPem } = await generateKeyAndCsr(POD_A);
    expect(await node1.sign({ csrPem, identity: POD_A, ttlSeconds: 60 })).toHaveLength(2);
    node1.close();
  });

  it('streams the trust bundle and its changes; the serving certificate follows the issuing root', async () => {
    const bundle = new TrustBundle(ca.bundle().roots);
    const watcher = new TrustBundleWatcher({
      address: `127.0.0.1:${server.port}`,
      roots: () => bundle.roots,
      bundle,
    });
    watcher.start();
    await watcher.ready;
    const v0 = bundle.version;
    const changed = new Promise<void>((resolve) => bundle.onChange(() => resolve()));
    await ca.rotate('add');
    await changed;
    expect(bundle.roots).toHaveLength(2);
    expect(bundle.version).toBeGreaterThan(v0);
    await ca.rotate('switch');
    // A fresh connection verifies pilot's new serving certificate with only the new root.
    const fresh = new IstioCaClient({
      address: `127.0.0.1:${server.port}`,
      roots: () => [ca.bundle().roots[1]!],
      token: () => 'node1-token-0001',
    });
    const { csrPem } = await generateKeyAndCsr(POD_A);
    const chain = await fresh.sign({ csrPem, identity: POD_A, ttlSeconds: 60 });
    expect(chain.at(-1)).toBe(ca.bundle().roots[1]);
    fresh.close();
    watcher.stop();
  });
});
