import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ConnectRequest,
  createHboneServer,
  directHandler,
  type HboneCredentials,
  type HboneServer,
  staticCredentials,
} from '@weft/hbone';
import { TestCa } from '@weft/testkit';

export interface PemFiles {
  cert: string;
  key: string;
}

/** Certificates on disk for independent peers: one mesh CA, workloads, and a rogue CA's workload. */
export interface InteropPki {
  dir: string;
  ca: TestCa;
  caFile: string;
  serverId: string;
  clientId: string;
  server: PemFiles;
  client: PemFiles;
  /** Same identity as `client`, signed by a CA nobody trusts. */
  rogueClient: PemFiles;
  /** Same identity as the server, signed by the rogue CA. */
  rogueServer: PemFiles;
  cleanup(): void;
}

export async function interopPki(): Promise<InteropPki> {
  const dir = mkdtempSync(join(tmpdir(), 'hbone-interop-'));
  const ca = await TestCa.create();
  const rogueCa = await TestCa.create({ name: 'Rogue CA' });
  const write = (name: string, cred: { chainPem: string; keyPem: string }): PemFiles => {
    const cert = join(dir, `${name}.pem`);
    const key = join(dir, `${name}-key.pem`);
    writeFileSync(cert, cred.chainPem);
    writeFileSync(key, cred.keyPem, { mode: 0o600 });
    return { cert, key };
  };
  const serverId = `spiffe://${ca.trustDomain}/ns/prod/sa/server`;
  const clientId = `spiffe://${ca.trustDomain}/ns/prod/sa/client`;
  // The DNS name is only for peers (nghttpx) that insist on checking a host name.
  const server = write('server', await ca.issue({ uris: [serverId], dnsNames: ['hbone.test'] }));
  const client = write('client', await ca.issue({ uris: [clientId] }));
  const rogueClient = write('rogue-client', await rogueCa.issue({ uris: [clientId] }));
  const rogueServer = write(
    'rogue-server',
    await rogueCa.issue({ uris: [serverId], dnsNames: ['hbone.test'] }),
  );
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, ca.rootPem);
  return {
    dir,
    ca,
    caFile,
    serverId,
    clientId,
    server,
    client,
    rogueClient,
    rogueServer,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function credentialsFrom(pki: InteropPki, files: PemFiles, identity: string): HboneCredentials {
  return staticCredentials({
    identity,
    certChainPem: readFileSync(files.cert, 'utf8'),
    keyPem: readFileSync(files.key, 'utf8'),
    rootsPem: pki.ca.rootPem,
  });
}

/** A TCP echo server that passes half-close on. */
export async function echoServer(): Promise<{ port: number; server: Server }> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, server };
}

/** Our HBONE server with the mesh server identity, dialing the CONNECT authority. */
export async function startHbone(
  pki: InteropPki,
  onRequest?: (request: ConnectRequest) => void,
): Promise<{ server: HboneServer; port: number }> {
  const direct = directHandler({ timeoutMs: 5000 });
  const server = createHboneServer({
    credentials: credentialsFrom(pki, pki.server, pki.serverId),
    handler: (request) => {
      onRequest?.(request);
      return direct(request);
    },
  });
  const port = (await server.listen({ port: 0, host: '127.0.0.1' }))?.port ?? 0;
  return { server, port };
}

/** Runs a program to completion; resolves with its exit code and output. */
export function run(
  cmd: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The last JSON line a peer printed. */
export function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'));
  return JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown>;
}
