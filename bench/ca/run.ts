/**
 * bench/ca: how fast weft-pilot's CA signs CSRs, and what a client pays for its key and CSR, next to
 * OpenSSL signing the same CSRs with the same key type (ECDSA P-256) on the same machine in the same run.
 *
 *   node --import tsx bench/ca/run.ts [--quick]
 *
 * - in-process: CertificateAuthority.sign (CSR parse + signature check + SAN rules + template + ECDSA sign).
 * - gRPC: CreateCertificate over TLS on loopback, bootstrap-token authentication and node placement checks,
 *   load from a separate process (bench/ca/load.ts) with 32 calls in flight over 4 channels.
 * - client: generateKeyAndCsr (P-256 key + CSR), sequential.
 * - peers: `openssl ca -batch -infiles …` (one process signing every CSR, with its text database) and
 *   `openssl x509 -req` (one process per CSR, as a shell loop would).
 * Prints one JSON document, then a summary line.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateKeyAndCsr } from '@weft/certs';
import {
  BootstrapTokenAuthenticator,
  CertificateAuthority,
  DirectoryCaStore,
  startCaServer,
  staticPlacement,
} from '../../packages/pilot/src/ca/index.js';

const run = promisify(execFile);
const quick = process.argv.includes('--quick');
const root = join(import.meta.dirname, '..', '..');
const SECONDS = quick ? 0.4 : 3;
const CSRS = quick ? 32 : 256;
const OPENSSL_X509 = quick ? 10 : 100;
const identity = (i: number) => `spiffe://cluster.local/ns/bench/sa/sa${i}`;

function openssl(): string | undefined {
  try {
    return execFileSync('openssl', ['version']).toString().trim();
  } catch {
    return undefined;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'weft-bench-ca-'));
try {
  const ca = await CertificateAuthority.open(new DirectoryCaStore(join(dir, 'ca')));
  const csrs = await Promise.all(Array.from({ length: CSRS }, (_, i) => generateKeyAndCsr(identity(i))));

  // Client cost: key + CSR, one after another (what a node agent pays per identity).
  const keygenN = quick ? 20 : 300;
  let t = performance.now();
  for (let i = 0; i < keygenN; i++) await generateKeyAndCsr(identity(i));
  const keygenMs = (performance.now() - t) / keygenN;

  // In-process signing.
  for (let i = 0; i < 50; i++) ca.sign(csrs[i % CSRS]!.csrPem, identity(i % CSRS), 3600); // warm-up
  let signedInProcess = 0;
  t = performance.now();
  const end = t + SECONDS * 1000;
  while (performance.now() < end) {
    for (let k = 0; k < 20; k++) {
      const i = signedInProcess++ % CSRS;
      ca.sign(csrs[i]!.csrPem, identity(i), 3600);
    }
  }
  const inProcessSeconds = (performance.now() - t) / 1000;

  // Over gRPC, load from another process.
  const token = 'bench-node-token';
  const server = await startCaServer({
    ca,
    port: 0,
    host: '127.0.0.1',
    authenticator: new BootstrapTokenAuthenticator({ [token]: { kind: 'node', node: 'bench-node' } }),
    placement: staticPlacement({ 'bench-node': Array.from({ length: CSRS }, (_, i) => identity(i)) }),
  });
  const rootFile = join(dir, 'root.pem');
  writeFileSync(rootFile, ca.bundle().roots.join(''));
  let grpc: { signed: number; errors: number; seconds: number };
  try {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'bench/ca/load.ts'),
        `127.0.0.1:${server.port}`,
        rootFile,
        token,
        String(SECONDS),
        '32',
        String(Math.min(CSRS, 64)),
      ],
      { cwd: root, timeout: 120_000 },
    );
    grpc = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as typeof grpc;
  } finally {
    await server.close();
  }

  // OpenSSL peers, same root key (P-256) and the same CSRs.
  const version = openssl();
  let opensslCa: { signed: number; seconds: number; perSecond: number } | undefined;
  let opensslX509: { signed: number; seconds: number; perSecond: number } | undefined;
  if (version !== undefined) {
    const od = join(dir, 'openssl');
    mkdirSync(join(od, 'newcerts'), { recursive: true });
    const state = JSON.parse(readFileSync(join(dir, 'ca', 'ca-state.json'), 'utf8')) as {
      roots: { certPem: string; keyPem: string }[];
    };
    writeFileSync(join(od, 'root.pem'), state.roots[0]!.certPem);
    writeFileSync(join(od, 'root.key'), state.roots[0]!.keyPem);
    writeFileSync(join(od, 'index.txt'), '');
    writeFileSync(join(od, 'serial'), '01\n');
    writeFileSync(
      join(od, 'ca.cnf'),
      [
        '[ ca ]',
        'default_ca = d',
        '[ d ]',
        `dir = ${od}`,
        'database = $dir/index.txt',
        'new_certs_dir = $dir/newcerts',
        'certificate = $dir/root.pem',
        'private_key = $dir/root.key',
        'serial = $dir/serial',
        'default_md = sha256',
        'policy = any',
        'unique_subject = no',
        'copy_extensions = copy',
        'default_days = 1',
        'x509_extensions = leaf',
        '[ any ]',
        '[ leaf ]',
        'basicConstraints = critical,CA:FALSE',
        'keyUsage = critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage = serverAuth,clientAuth',
        '',
      ].join('\n'),
    );
    const files = csrs.map((c, i) => {
      const f = join(od, `csr${i}.pem`);
      writeFileSync(f, c.csrPem);
      return f;
    });
    // Enough CSRs for a measurable run: the same files repeated.
    const repeat = quick ? 2 : 8;
    const infiles = Array.from({ length: repeat }, () => files).flat();
    t = performance.now();
    await run(
      'openssl',
      [
        'ca',
        '-batch',
        '-config',
        join(od, 'ca.cnf'),
        '-notext',
        '-out',
        join(od, 'out.pem'),
        '-infiles',
        ...infiles,
      ],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const caSeconds = (performance.now() - t) / 1000;
    opensslCa = { signed: infiles.length, seconds: caSeconds, perSecond: infiles.length / caSeconds };

    writeFileSync(
      join(od, 'leaf.cnf'),
      'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n',
    );
    t = performance.now();
    for (let i = 0; i < OPENSSL_X509; i++)
      await run('openssl', [
        'x509',
        '-req',
        '-in',
        files[i % files.length]!,
        '-CA',
        join(od, 'root.pem'),
        '-CAkey',
        join(od, 'root.key'),
        '-CAcreateserial',
        '-days',
        '1',
        '-copy_extensions',
        'copy',
        '-extfile',
        join(od, 'leaf.cnf'),
        '-out',
        '/dev/null',
      ]);
    const x509Seconds = (performance.now() - t) / 1000;
    opensslX509 = { signed: OPENSSL_X509, seconds: x509Seconds, perSecond: OPENSSL_X509 / x509Seconds };
  }

  const inProcessPerSecond = signedInProcess / inProcessSeconds;
  const grpcPerSecond = grpc.signed / grpc.seconds;
  const ratio = (a: number, b: number | undefined) => (b === undefined ? null : Number((a / b).toFixed(2)));
  const report = {
    benchmark: 'ca',
    quick,
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, openssl: version ?? null },
    results: {
      inProcess: {
        signed: signedInProcess,
        seconds: inProcessSeconds,
        perSecond: Math.round(inProcessPerSecond),
      },
      grpc: { ...grpc, perSecond: Math.round(grpcPerSecond), concurrency: 32, channels: 4 },
      clientKeyAndCsr: {
        ops: keygenN,
        msPerOp: Number(keygenMs.toFixed(3)),
        perSecond: Math.round(1000 / keygenMs),
      },
      opensslCaBatch:
        opensslCa === undefined ? null : { ...opensslCa, perSecond: Math.round(opensslCa.perSecond) },
      opensslX509PerProcess:
        opensslX509 === undefined ? null : { ...opensslX509, perSecond: Math.round(opensslX509.perSecond) },
    },
    ratios: {
      inProcessVsOpensslCa: ratio(inProcessPerSecond, opensslCa?.perSecond),
      grpcVsOpensslCa: ratio(grpcPerSecond, opensslCa?.perSecond),
      grpcVsOpensslX509PerProcess: ratio(grpcPerSecond, opensslX509?.perSecond),
    },
    target: { grpcPerSecond: 500, met: grpcPerSecond >= 500 },
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  const peer =
    opensslCa === undefined
      ? 'openssl not installed'
      : `openssl ca ${Math.round(opensslCa.perSecond)}/s (x${report.ratios.inProcessVsOpensslCa} in-process), openssl x509 -req ${Math.round(opensslX509?.perSecond ?? 0)}/s`;
  process.stdout.write(
    `ca: in-process ${Math.round(inProcessPerSecond)} signed/s, gRPC ${Math.round(grpcPerSecond)} signed/s (target 500, ${grpc.errors} errors), client key+CSR ${keygenMs.toFixed(2)} ms; ${peer}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
