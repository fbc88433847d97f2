import {
  Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { TestCa } from '@weft/testkit';
import {
  type IstioCertificateRequest,
  type IstioCertificateResponse,
  IstioCertificateServiceService,
  type TrustBundleMessage,
  TrustBundleServiceService,
  type WatchTrustBundleRequest,
} from '@weft/xds';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TrustBundleWatcher } from './bundle-watch.js';
import { IstioCaClient } from './ca-client.js';
import { generateKeyAndCsr } from './csr.js';
import { startPilotCertificates } from './pilot-client.js';
import { CsrSigner } from './testing.js';
import { TrustBundle } from './trust-bundle.js';

const ID = 'spiffe://cluster.local/ns/prod/sa/orders';

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setTimeout(r, 5));
  }
}

describe('IstioCaClient and TrustBundleWatcher over gRPC/TLS', () => {
  let ca: TestCa;
  let serving: Awaited<ReturnType<TestCa['issue']>>;
  let server: Server | undefined;
  const seen: { md: Metadata; req: IstioCertificateRequest }[] = [];
  const streams = new Set<ServerWritableStream<WatchTrustBundleRequest, TrustBundleMessage>>();
  let roots: string[] = [];
  let version = 1;

  beforeAll(async () => {
    ca = await TestCa.create();
    serving = await ca.issue({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usages: ['server'] });
    roots = [ca.certPem];
  });

  afterEach(() => {
    server?.forceShutdown();
    server = undefined;
  });

  async function start(port = 0): Promise<number> {
    const signer = new CsrSigner(ca);
    server = new Server();
    server.addService(IstioCertificateServiceService, {
      createCertificate(
        call: ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>,
        cb: sendUnaryData<IstioCertificateResponse>,
      ) {
        seen.push({ md: call.metadata, req: call.request });
        const who = call.request.metadata?.ImpersonatedIdentity as string;
        if (who.includes('/sa/forbidden')) {
          const md = new Metadata();
          md.set('x-weft-code', 'WEFT_CA_NOT_ON_NODE');
          cb({ code: status.PERMISSION_DENIED, details: 'not on your node', metadata: md });
          return;
        }
        signer
          .sign({ csrPem: call.request.csr, identity: who, ttlSeconds: call.request.validityDuration })
          .then((certChain) => cb(null, { certChain }), cb);
      },
    });
    server.addService(TrustBundleServiceService, {
      watchTrustBundle(call: ServerWritableStream<WatchTrustBundleRequest, TrustBundleMessage>) {
        streams.add(call);
        call.write({ version, rootCerts: roots, trustDomain: 'cluster.local' });
        call.on('cancelled', () => streams.delete(call));
      },
    });
    const creds = ServerCredentials.createSsl(null, [
      { cert_chain: Buffer.from(serving.chainPem), private_key: Buffer.from(serving.keyPem) },
    ]);
    return new Promise((resolve, reject) =>
      server!.bindAsync(`127.0.0.1:${port}`, creds, (err, p) => (err ? reject(err) : resolve(p))),
    );
  }

  it('sends the CSR, TTL, ImpersonatedIdentity, bearer token and clusterid; maps refusals', async () => {
    const port = await start();
    const client = new IstioCaClient({
      address: `127.0.0.1:${port}`,
      roots: () => [ca.certPem],
      token: () => 'node-token',
      clusterId: 'c1',
    });
    const { csrPem } = await generateKeyAndCsr(ID);
    const chain = await client.sign({ csrPem, identity: ID, ttlSeconds: 600 });
    expect(chain.length).toBeGreaterThanOrEqual(1);
    const last = seen.at(-1)!;
    expect(last.md.get('authorization')).toEqual(['Bearer node-token']);
    expect(last.md.get('clusterid')).toEqual(['c1']);
    expect(last.req).toMatchObject({
      csr: csrPem,
      validityDuration: 600,
      metadata: { ImpersonatedIdentity: ID },
    });

    await expect(
      client.sign({ csrPem, identity: 'spiffe://cluster.local/ns/prod/sa/forbidden', ttlSeconds: 600 }),
    ).rejects.toMatchObject({
      code: 'WEFT_CERTS_CA_REJECTED',
      details: { grpcCode: 'PERMISSION_DENIED', serverCode: 'WEFT_CA_NOT_ON_NODE' },
    });
    client.close();
  });

  it('reports an unreachable CA as WEFT_CERTS_CA_UNAVAILABLE', async () => {
    const port = await start();
    server!.forceShutdown();
    server = undefined;
    const client = new IstioCaClient({
      address: `127.0.0.1:${port}`,
      roots: () => [ca.certPem],
      timeoutMs: 2000,
    });
    const { csrPem } = await generateKeyAndCsr(ID);
    await expect(client.sign({ csrPem, identity: ID, ttlSeconds: 60 })).rejects.toMatchObject({
      code: 'WEFT_CERTS_CA_UNAVAILABLE',
    });
    client.close();
  });

  it('startPilotCertificates wires bundle stream, CA client and manager', async () => {
    const port = await start();
    const pc = startPilotCertificates({
      address: `127.0.0.1:${port}`,
      rootPem: ca.certPem,
      token: () => 't',
      ttlSeconds: 600,
    });
    await pc.ready;
    const cert = await pc.client.getCertificate(ID);
    expect(cert.identity).toBe(ID);
    expect(pc.client.secureContext(ID)).toBeDefined();
    expect(pc.bundle.roots).toHaveLength(1); // the streamed bundle equals the bootstrap root: no change
    pc.close();
  });

  it('follows bundle updates, keeps the last bundle while pilot is down, and reconnects', async () => {
    const port = await start();
    const bundle = new TrustBundle(ca.certPem);
    const watcher = new TrustBundleWatcher({
      address: `127.0.0.1:${port}`,
      roots: () => bundle.roots,
      bundle,
      backoff: { initialMs: 20, maxMs: 100 },
    });
    watcher.start();
    await watcher.ready;
    expect(bundle.roots).toHaveLength(1);

    const next = await TestCa.create({ name: 'Next Root' });
    roots = [ca.certPem, next.certPem];
    version = 2;
    for (const s of streams) s.write({ version, rootCerts: roots, trustDomain: 'cluster.local' });
    await waitFor(() => bundle.roots.length === 2, 'the new root');

    server!.forceShutdown();
    server = undefined;
    streams.clear();
    expect(bundle.roots).toHaveLength(2);

    roots = [next.certPem, ca.certPem];
    version = 3;
    await start(port);
    await waitFor(() => bundle.version >= 3, 'the bundle after reconnecting');
    expect(bundle.roots).toHaveLength(2);
    watcher.stop();
  });
});
