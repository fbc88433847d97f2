/**
 * Processes for the gateway walkthroughs: httpbin (Debian python3-httpbin under werkzeug), weft-waypoint
 * in gateway mode with its config read from a YAML directory, and curl. Everything on loopback.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, freePort, hasCommand, spawnApp, TestCa } from '@weft/testkit';

const ROOT = join(import.meta.dirname, '../../..');
const RUN_MAIN = join(import.meta.dirname, 'run-main.mjs');
const WAYPOINT_MAIN = join(ROOT, 'packages/waypoint/src/main.ts');
const PILOT_MAIN = join(ROOT, 'packages/pilot/src/main.ts');

export interface PilotProcess {
  app: App;
  xdsPort: number;
  securePort: number;
  caDir: string;
  /** A file holding a bootstrap token for the gateway's identity. */
  tokenFile: string;
}

/** weft-pilot serving `configDir` on loopback, with a CA that issues `identity` to the token it writes. */
export async function startPilot(dir: string, configDir: string, identity: string): Promise<PilotProcess> {
  const [xdsPort, securePort, readiness] = [await freePort(), await freePort(), await freePort()];
  const caDir = join(dir, 'pilot-ca');
  const token = `e2e-gateway-${Math.random().toString(36).slice(2)}`;
  const tokenFile = join(dir, 'gateway.token');
  writeFileSync(tokenFile, `${token}\n`);
  writeFileSync(
    join(dir, 'tokens.yaml'),
    `tokens:\n  "${token}":\n    kind: workload\n    identity: ${identity}\n`,
  );
  const app = await spawnApp({
    name: 'weft-pilot',
    command: process.execPath,
    args: [
      RUN_MAIN,
      PILOT_MAIN,
      '--config-dir',
      configDir,
      '--bootstrap-tokens',
      join(dir, 'tokens.yaml'),
      '--ca-dir',
      caDir,
      '--xds-port',
      String(xdsPort),
      '--secure-port',
      String(securePort),
      '--host',
      '127.0.0.1',
      '--metrics-port',
      'off',
      '--readiness-port',
      String(readiness),
      '--admin-port',
      'off',
      '--log-level',
      'warn',
    ],
    env: { ...process.env, PILOT_DEBOUNCE_AFTER: '20' },
    ready: { url: `http://127.0.0.1:${readiness}/healthz/ready` },
    timeoutMs: 30_000,
  });
  return { app, xdsPort, securePort, caDir, tokenFile };
}

/** Why the walkthrough cannot run here, or undefined. */
export function gatewaySkipReason(extra: string[] = []): string | undefined {
  const missing = ['openssl', 'curl', ...extra].filter((c) => !hasCommand(c));
  if (missing.length > 0) return `missing commands: ${missing.join(', ')}`;
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import httpbin, werkzeug'], { stdio: 'ignore' });
  } catch {
    return 'Debian python3-httpbin is not installed (/usr/bin/python3 cannot import httpbin)';
  }
  return undefined;
}

/** httpbin on 127.0.0.1 (threaded werkzeug, as the brief's httpbin pod serves it). */
export async function startHttpbin(): Promise<{ app: App; port: number }> {
  const port = await freePort();
  const app = await spawnApp({
    name: 'httpbin',
    command: '/usr/bin/python3',
    args: [
      '-c',
      `import logging; logging.getLogger("werkzeug").setLevel(logging.ERROR)
from werkzeug.serving import run_simple
import httpbin
run_simple("127.0.0.1", ${port}, httpbin.app, threaded=True)`,
    ],
    ready: { url: `http://127.0.0.1:${port}/status/200` },
  });
  return { app, port };
}

/**
 * Writes `files` into `dir/name` the way the kubelet updates a Secret volume: a fresh timestamped
 * directory, `..data` re-pointed atomically, and top-level symlinks into `..data`.
 */
export function writeSecretVolume(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  const stamp = `..${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
  mkdirSync(join(dir, stamp));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, stamp, name), text);
  const tmp = join(dir, '..data_tmp');
  rmSync(tmp, { force: true });
  symlinkSync(stamp, tmp);
  renameSync(tmp, join(dir, '..data'));
  for (const name of Object.keys(files)) {
    try {
      symlinkSync(join('..data', name), join(dir, name));
    } catch {
      // already linked
    }
  }
}

export interface GatewayProcess {
  app: App;
  ports: Map<number, number>;
  metricsPort: number;
  hbonePort: number;
  /** The mesh CA that issued the gateway's own certificate (for HBONE clients in tests). */
  meshCa: TestCa;
  identity: string;
  stop(): Promise<void>;
}

/**
 * weft-waypoint in gateway mode: config from `configDir` and the mesh identity from a throwaway CA, or
 * both from `pilot` (xDS with role gateway, certificate from pilot's CA).
 */
export async function startGateway(options: {
  mode: 'ingress' | 'egress';
  dir: string;
  configDir?: string;
  pilot?: PilotProcess;
  credentialsDir?: string;
  gatewayPorts: number[];
  env?: Record<string, string>;
}): Promise<GatewayProcess> {
  const meshCa = await TestCa.create();
  const sa = options.mode === 'ingress' ? 'istio-ingressgateway' : 'istio-egressgateway';
  const mesh = await meshCa.workload('istio-system', sa);
  const certDir = join(options.dir, `mesh-${options.mode}`);
  mkdirSync(certDir, { recursive: true });
  writeFileSync(join(certDir, 'tls.crt'), mesh.chainPem);
  writeFileSync(join(certDir, 'tls.key'), mesh.keyPem);
  writeFileSync(join(certDir, 'ca.crt'), meshCa.rootPem);
  const ports = new Map<number, number>();
  for (const p of options.gatewayPorts) ports.set(p, await freePort());
  const [hbone, admin, metrics, readiness] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const app = await spawnApp({
    name: `weft-waypoint-${options.mode}`,
    command: process.execPath,
    args: [RUN_MAIN, WAYPOINT_MAIN, '--mode', options.mode],
    env: {
      ...process.env,
      ...(options.pilot === undefined
        ? { CERT_DIR: certDir }
        : {
            XDS_ADDRESS: `127.0.0.1:${options.pilot.xdsPort}`,
            XDS_TLS: 'false',
            CA_ADDRESS: `127.0.0.1:${options.pilot.securePort}`,
            CA_ROOT_CERT: join(options.pilot.caDir, 'root-cert.pem'),
            BOOTSTRAP_TOKEN_FILE: options.pilot.tokenFile,
          }),
      GATEWAY_NAME: sa,
      POD_NAMESPACE: 'istio-system',
      SERVICE_ACCOUNT: sa,
      ...(options.configDir === undefined ? {} : { GATEWAY_CONFIG_DIR: options.configDir }),
      ...(options.credentialsDir === undefined ? {} : { GATEWAY_CREDENTIALS_DIR: options.credentialsDir }),
      GATEWAY_PORTS: [...ports].map(([a, b]) => `${a}=${b}`).join(','),
      LISTEN_HOST: '127.0.0.1',
      HBONE_PORT: String(hbone),
      ADMIN_PORT: String(admin),
      METRICS_PORT: String(metrics),
      READINESS_PORT: String(readiness),
      LOG_LEVEL: 'info',
      ACCESS_LOG: 'false',
      ...options.env,
    },
    ready: { url: `http://127.0.0.1:${readiness}/healthz/ready` },
    timeoutMs: 30_000,
  });
  await app.waitForLine(/gateway listening/);
  return {
    app,
    ports,
    metricsPort: metrics,
    hbonePort: hbone,
    meshCa,
    identity: mesh.spiffeId,
    stop: async () => void (await app.stop()),
  };
}

export interface CurlResult {
  code: number;
  status: string;
  body: string;
  stderr: string;
}

/** curl with the given arguments; `-w` appends the status code after a marker. */
export function curl(args: string[], cwd: string): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile(
      'curl',
      ['-sS', '--max-time', '10', ...args, '-w', '\n@@%{http_code}'],
      { cwd, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const at = stdout.lastIndexOf('\n@@');
        resolve({
          code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1,
          status: at === -1 ? '' : stdout.slice(at + 3),
          body: at === -1 ? stdout : stdout.slice(0, at),
          stderr,
        });
      },
    );
  });
}
