import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootstrapTokenAuthenticator } from './authn.js';
import { CertificateAuthority } from './authority.js';
import { staticPlacement } from './authz.js';
import { type CaServer, startCaServer } from './server.js';
import { DirectoryCaStore } from './store.js';

// Independent peers: OpenSSL makes the CSR and verifies the result; Python's grpcio (gRPC C core) with
// protoc-generated messages from our istio/v1/auth/ca.proto makes the call, as another Istio client would.
const PY = '/usr/bin/python3';
function missing(): string | undefined {
  try {
    execFileSync(PY, ['-c', 'import grpc, google.protobuf'], { stdio: 'ignore' });
  } catch {
    return 'needs python3-grpcio and python3-protobuf (Debian; scripts/setup.sh installs them)';
  }
  for (const tool of ['protoc', 'openssl'])
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      try {
        execFileSync(tool, ['version'], { stdio: 'ignore' });
      } catch {
        return `needs ${tool}`;
      }
    }
  return undefined;
}
const reason = missing();
const proto = join(import.meta.dirname, '..', '..', '..', 'xds', 'proto');

const CLIENT = `
import json, sys, grpc
sys.path.insert(0, sys.argv[1])
from istio.v1.auth import ca_pb2
addr, root, token, identity, csr = sys.argv[2:7]
creds = grpc.ssl_channel_credentials(open(root, 'rb').read())
with grpc.secure_channel(addr, creds) as ch:
    call = ch.unary_unary('/istio.v1.auth.IstioCertificateService/CreateCertificate',
        request_serializer=ca_pb2.IstioCertificateRequest.SerializeToString,
        response_deserializer=ca_pb2.IstioCertificateResponse.FromString)
    req = ca_pb2.IstioCertificateRequest(csr=open(csr).read(), validity_duration=600)
    req.metadata.update({'ImpersonatedIdentity': identity})
    try:
        res = call(req, metadata=[('authorization', 'Bearer ' + token), ('clusterid', 'Kubernetes')], timeout=10)
        print(json.dumps({'chain': list(res.cert_chain)}))
    except grpc.RpcError as e:
        print(json.dumps({'status': e.code().name, 'details': e.details(),
            'trailers': {k: v for k, v in (e.trailing_metadata() or [])}}))
`;

describe.skipIf(reason !== undefined)(
  `CreateCertificate from Python grpcio with an OpenSSL CSR${reason === undefined ? '' : ` (skipped: ${reason})`}`,
  () => {
    let dir: string;
    let ca: CertificateAuthority;
    let server: CaServer;
    const ID = 'spiffe://cluster.local/ns/prod/sa/orders';
    const OTHER = 'spiffe://cluster.local/ns/prod/sa/payments';

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'weft-interop-'));
      ca = await CertificateAuthority.open(new DirectoryCaStore(join(dir, 'ca')));
      server = await startCaServer({
        ca,
        port: 0,
        host: '127.0.0.1',
        authenticator: new BootstrapTokenAuthenticator({
          'interop-token-1': { kind: 'node', node: 'node1' },
        }),
        placement: staticPlacement({ node1: [ID] }),
      });
      execFileSync('protoc', [`-I${proto}`, `--python_out=${dir}`, 'istio/v1/auth/ca.proto']);
      for (const d of ['istio', 'istio/v1', 'istio/v1/auth']) writeFileSync(join(dir, d, '__init__.py'), '');
      writeFileSync(join(dir, 'client.py'), CLIENT);
      writeFileSync(join(dir, 'root.pem'), ca.bundle().roots.join(''));
      for (const [name, id] of [
        ['csr.pem', ID],
        ['other.pem', OTHER],
      ] as const)
        execFileSync(
          'openssl',
          [
            'req',
            '-new',
            '-newkey',
            'ec',
            '-pkeyopt',
            'ec_paramgen_curve:prime256v1',
            '-nodes',
            '-keyout',
            join(dir, `${name}.key`),
            '-subj',
            '/',
            '-addext',
            `subjectAltName=critical,URI:${id}`,
            '-out',
            join(dir, name),
          ],
          { stdio: 'ignore' },
        );
    });
    afterAll(async () => {
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    // Asynchronous: the CA answers from this very process.
    const py = async (identity: string, csr: string) =>
      JSON.parse(
        (
          await promisify(execFile)(PY, [
            join(dir, 'client.py'),
            dir,
            `127.0.0.1:${server.port}`,
            join(dir, 'root.pem'),
            'interop-token-1',
            identity,
            join(dir, csr),
          ])
        ).stdout,
      ) as { chain?: string[]; status?: string; details?: string; trailers?: Record<string, string> };

    it('issues a chain that OpenSSL verifies, for the identity in the CSR', async () => {
      const res = await py(ID, 'csr.pem');
      expect(res.chain).toHaveLength(2);
      writeFileSync(join(dir, 'leaf.pem'), res.chain![0]!);
      expect(
        execFileSync('openssl', [
          'verify',
          '-x509_strict',
          '-purpose',
          'sslclient',
          '-CAfile',
          join(dir, 'root.pem'),
          join(dir, 'leaf.pem'),
        ]).toString(),
      ).toContain('OK');
      const text = execFileSync('openssl', [
        'x509',
        '-in',
        join(dir, 'leaf.pem'),
        '-noout',
        '-ext',
        'subjectAltName',
      ]).toString();
      expect(text).toContain(`URI:${ID}`);
      // The leaf's key is the one OpenSSL generated.
      const leafKey = execFileSync('openssl', [
        'x509',
        '-in',
        join(dir, 'leaf.pem'),
        '-noout',
        '-pubkey',
      ]).toString();
      const csrKey = execFileSync('openssl', ['pkey', '-in', join(dir, 'csr.pem.key'), '-pubout']).toString();
      expect(leafKey).toBe(csrKey);
      expect(readFileSync(join(dir, 'root.pem'), 'utf8')).toContain(res.chain![1]!.trim());
    });

    it('refuses a pod on another node with PERMISSION_DENIED and the x-weft-code trailer', async () => {
      const res = await py(OTHER, 'other.pem');
      expect(res.status).toBe('PERMISSION_DENIED');
      expect(res.details).toContain('WEFT_CA_NOT_ON_NODE');
      expect(res.trailers?.['x-weft-code']).toBe('WEFT_CA_NOT_ON_NODE');
    });
  },
);
