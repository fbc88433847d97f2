/**
 * Real processes for the waypoint e2e: weft-pilot (YAML directory, plug-in CA from a test root, xDS) and
 * weft-waypoint (certificate from pilot's CA with a bootstrap token, discovery from pilot). The payments
 * "pod" is an HBONE server (what its node agent does) on a loopback address in front of real apps, and
 * clients are HBONE clients with workload certificates from the same root, as a node agent would be.
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import {
  createHbonePool,
  createHboneServer,
  directHandler,
  type HbonePool,
  type HboneServer,
  staticCredentials,
} from '@weft/hbone';
import { type App, freePort, spawnApp, TestCa } from '@weft/testkit';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const RUN_MAIN = join(import.meta.dirname, 'run-main.mjs');

export const POD_IP = '127.0.0.11';
export const WAYPOINT_IP = '127.0.0.12';
export const VIP = '10.96.0.10';
export const GRPC_VIP = '10.96.0.11';
export const ISSUER = 'https://issuer.e2e.weft';

export class WaypointMesh {
  readonly dir = mkdtempSync(join(tmpdir(), 'weft-e2e-waypoint-'));
  readonly configDir = join(this.dir, 'config');
  ca!: TestCa;
  pilot: App | undefined;
  waypoint: App | undefined;
  podServer: HboneServer | undefined;
  readonly pools = new Map<string, HbonePool>();
  metricsPort = 0;
  waypointPort = 15008;
  readonly jwtKey: KeyObject;
  readonly jwk: Record<string, unknown>;

  constructor() {
    mkdirSync(this.configDir, { recursive: true });
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.jwtKey = privateKey;
    this.jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256' };
  }

  writeConfig(name: string, yaml: string): void {
    const tmp = join(this.dir, `.${name}.tmp`);
    writeFileSync(tmp, yaml);
    renameSync(tmp, join(this.configDir, name));
  }

  removeConfig(name: string): void {
    rmSync(join(this.configDir, name), { force: true });
  }

  /** An RS256 JWT signed by the test issuer's key (or `key`), with `claims` over the defaults. */
  token(claims: Record<string, unknown> = {}, options: { kid?: string; key?: KeyObject } = {}): string {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const input = `${b64({ alg: 'RS256', kid: options.kid ?? 'k1', typ: 'JWT' })}.${b64({ iss: ISSUER, sub: 'alice', aud: 'payments', iat: now, exp: now + 600, ...claims })}`;
    return `${input}.${sign('sha256', Buffer.from(input), options.key ?? this.jwtKey).toString('base64url')}`;
  }

  async start(apps: { http: number; grpc: number }): Promise<void> {
    this.ca = await TestCa.create({ name: 'Weft e2e root' });
    const plugin = join(this.dir, 'cacerts');
    mkdirSync(plugin);
    writeFileSync(join(plugin, 'ca-cert.pem'), this.ca.certPem);
    writeFileSync(join(plugin, 'ca-key.pem'), this.ca.keyPem);
    writeFileSync(join(plugin, 'root-cert.pem'), this.ca.rootPem);
    writeFileSync(join(plugin, 'cert-chain.pem'), this.ca.certPem);
    writeFileSync(join(this.dir, 'root-cert.pem'), this.ca.rootPem);
    const token = `wp-${Math.random().toString(36).slice(2)}`;
    writeFileSync(
      join(this.dir, 'tokens.yaml'),
      `tokens:\n  "${token}":\n    kind: workload\n    identity: "spiffe://cluster.local/ns/prod/sa/waypoint"\n`,
    );
    writeFileSync(join(this.dir, 'waypoint.token'), `${token}\n`);
    this.writeConfig('00-base.yaml', baseConfig(apps));

    // The payments pod's HBONE inbound: its node agent's job, here an HBONE server on the pod IP.
    const pod = await this.ca.workload('prod', 'payments');
    this.podServer = createHboneServer({
      credentials: staticCredentials({
        identity: pod.spiffeId,
        certChainPem: pod.chainPem,
        keyPem: pod.keyPem,
        rootsPem: this.ca.rootPem,
      }),
      handler: directHandler(),
    });
    await this.podServer.listen({ port: 15008, host: POD_IP });

    const xds = await freePort();
    const secure = await freePort();
    const pilotReady = await freePort();
    this.pilot = await spawnApp({
      name: 'weft-pilot',
      command: process.execPath,
      args: [
        RUN_MAIN,
        join(ROOT, 'packages/pilot/src/main.ts'),
        '--config-dir',
        this.configDir,
        '--plugin-ca-dir',
        plugin,
        '--ca-dir',
        join(this.dir, 'ca'),
        '--bootstrap-tokens',
        join(this.dir, 'tokens.yaml'),
        '--xds-port',
        String(xds),
        '--secure-port',
        String(secure),
        '--host',
        '127.0.0.1',
        '--metrics-port',
        'off',
        '--admin-port',
        'off',
        '--readiness-port',
        String(pilotReady),
        '--log-level',
        'warn',
      ],
      env: { ...process.env, PILOT_DEBOUNCE_AFTER: '20' },
      ready: { url: `http://127.0.0.1:${pilotReady}/healthz/ready` },
      timeoutMs: 60_000,
    });
    this.metricsPort = await freePort();
    const readiness = await freePort();
    this.waypoint = await spawnApp({
      name: 'weft-waypoint',
      command: process.execPath,
      args: [RUN_MAIN, join(ROOT, 'packages/waypoint/src/main.ts')],
      env: {
        ...process.env,
        XDS_ADDRESS: `127.0.0.1:${xds}`,
        XDS_TLS: 'false',
        CA_ADDRESS: `127.0.0.1:${secure}`,
        CA_ROOT_CERT: join(this.dir, 'root-cert.pem'),
        BOOTSTRAP_TOKEN_FILE: join(this.dir, 'waypoint.token'),
        POD_NAMESPACE: 'prod',
        SERVICE_ACCOUNT: 'waypoint',
        WAYPOINT_NAME: 'waypoint',
        LISTEN_HOST: WAYPOINT_IP,
        HBONE_PORT: String(this.waypointPort),
        ADMIN_PORT: String(await freePort()),
        METRICS_PORT: String(this.metricsPort),
        READINESS_PORT: String(readiness),
        LOG_LEVEL: 'warn',
        ACCESS_LOG: 'true',
      },
      ready: { url: `http://127.0.0.1:${readiness}/healthz/ready` },
      timeoutMs: 60_000,
    });
  }

  /** An HBONE client pool with the workload certificate of prod/<sa>. */
  async client(sa: string): Promise<HbonePool> {
    let pool = this.pools.get(sa);
    if (pool === undefined) {
      const w = await this.ca.workload('prod', sa);
      pool = createHbonePool({
        credentials: staticCredentials({
          identity: w.spiffeId,
          certChainPem: w.chainPem,
          keyPem: w.keyPem,
          rootsPem: this.ca.rootPem,
        }),
      });
      this.pools.set(sa, pool);
    }
    return pool;
  }

  /** A tunnel from prod/<sa> through the waypoint to `authority` (what a client's node agent opens). */
  async tunnel(sa: string, authority: string): Promise<Duplex> {
    const t = await (await this.client(sa)).open({
      nextHop: { host: WAYPOINT_IP, port: this.waypointPort },
      authority,
      expectedIdentities: ['spiffe://cluster.local/ns/prod/sa/waypoint'],
    });
    return t.stream;
  }

  async destroy(): Promise<void> {
    for (const p of this.pools.values()) await p.close();
    await this.waypoint?.stop();
    await this.pilot?.stop();
    await this.podServer?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function baseConfig(apps: { http: number; grpc: number }): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: istio-system
---
apiVersion: v1
kind: Namespace
metadata:
  name: prod
  labels:
    istio.io/dataplane-mode: ambient
---
apiVersion: v1
kind: Node
metadata:
  name: node1
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: payments
  namespace: prod
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: waypoint
  namespace: prod
---
apiVersion: v1
kind: Pod
metadata:
  name: payments
  namespace: prod
  labels:
    app: payments
spec:
  nodeName: node1
  serviceAccountName: payments
  containers:
    - name: app
      image: payments
status:
  podIP: ${POD_IP}
  podIPs:
    - ip: ${POD_IP}
---
apiVersion: v1
kind: Pod
metadata:
  name: waypoint
  namespace: prod
  labels:
    gateway.networking.k8s.io/gateway-name: waypoint
spec:
  nodeName: node1
  serviceAccountName: waypoint
  containers:
    - name: waypoint
      image: weft-waypoint
status:
  podIP: ${WAYPOINT_IP}
  podIPs:
    - ip: ${WAYPOINT_IP}
---
apiVersion: v1
kind: Service
metadata:
  name: payments
  namespace: prod
  labels:
    istio.io/use-waypoint: waypoint
spec:
  clusterIP: ${VIP}
  selector:
    app: payments
  ports:
    - name: http
      port: 80
      targetPort: ${apps.http}
---
apiVersion: v1
kind: Service
metadata:
  name: payments-grpc
  namespace: prod
  labels:
    istio.io/use-waypoint: waypoint
spec:
  clusterIP: ${GRPC_VIP}
  selector:
    app: payments
  ports:
    - name: grpc
      port: 9090
      appProtocol: grpc
      targetPort: ${apps.grpc}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: waypoint
  namespace: prod
spec:
  gatewayClassName: istio-waypoint
  listeners:
    - name: mesh
      port: 15008
      protocol: HBONE
`;
}
