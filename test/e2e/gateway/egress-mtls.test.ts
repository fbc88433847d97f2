/**
 * The egress stage: a mesh workload speaks plaintext HTTP (directly, or through an HBONE tunnel as its
 * node agent would carry it) to weft-waypoint running as the egress gateway, which originates mutual TLS
 * per DestinationRule to an external server that requires client certificates (`openssl s_server
 * -Verify`). SIMPLE origination refuses a server with the wrong SAN; REGISTRY_ONLY refuses unknown hosts.
 * The config is deploy/examples/egress/config (credentialName from a mounted credentials folder).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHbonePool, type HbonePool, staticCredentials } from '@weft/hbone';
import { type App, freePort, spawnApp } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, type GatewayProcess, gatewaySkipReason, startGateway } from './harness.js';

const skip = gatewaySkipReason();
const EXAMPLE = join(import.meta.dirname, '../../../deploy/examples/egress/config');

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

describe.skipIf(skip !== undefined)(`egress gateway: plaintext in, mTLS out ${skip ?? ''}`, () => {
  let dir: string;
  let external: App;
  let gw: GatewayProcess;
  let pool: HbonePool;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-egress-'));
    openssl(dir, [
      'req',
      '-batch',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'extca.key',
      '-out',
      'extca.pem',
      '-subj',
      '/CN=External CA',
      '-days',
      '2',
    ]);
    openssl(dir, [
      'req',
      '-batch',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'external.key',
      '-out',
      'external.csr',
      '-subj',
      '/CN=external.example',
      '-addext',
      'subjectAltName=DNS:external.example',
    ]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      'external.csr',
      '-CA',
      'extca.pem',
      '-CAkey',
      'extca.key',
      '-CAcreateserial',
      '-out',
      'external.pem',
      '-days',
      '1',
      '-copy_extensions',
      'copy',
    ]);
    openssl(dir, [
      'req',
      '-batch',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'egress-client.key',
      '-out',
      'egress-client.csr',
      '-subj',
      '/CN=egress-client',
      '-addext',
      'subjectAltName=URI:spiffe://cluster.local/ns/istio-system/sa/istio-egressgateway',
    ]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      'egress-client.csr',
      '-CA',
      'extca.pem',
      '-CAkey',
      'extca.key',
      '-CAcreateserial',
      '-out',
      'egress-client.pem',
      '-days',
      '1',
      '-copy_extensions',
      'copy',
    ]);
    const extPort = await freePort();
    external = await spawnApp({
      name: 'openssl-s_server',
      command: 'openssl',
      args: [
        's_server',
        '-accept',
        String(extPort),
        '-cert',
        'external.pem',
        '-key',
        'external.key',
        '-CAfile',
        'extca.pem',
        '-Verify',
        '1',
        '-www',
        '-quiet',
      ],
      cwd: dir,
      ready: { tcp: { host: '127.0.0.1', port: extPort } },
    });
    // deploy/examples/egress/config as a user runs it (s_server's port in place of 8443), plus a
    // DestinationRule pinning a SAN the server lacks.
    const configDir = join(dir, 'config');
    mkdirSync(configDir);
    for (const name of readdirSync(EXAMPLE)) {
      const text = readFileSync(join(EXAMPLE, name), 'utf8').replace('https: 8443', `https: ${extPort}`);
      writeFileSync(join(configDir, name), text);
    }
    writeFileSync(
      join(configDir, '10-wrong-san.yaml'),
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: wrong-san, namespace: default }
spec:
  hosts: [wrong-san.example]
  location: MESH_EXTERNAL
  ports: [{ number: 443, name: https, protocol: HTTPS }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { https: ${extPort} } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: wrong-san, namespace: istio-system }
spec:
  host: wrong-san.example
  trafficPolicy:
    tls:
      mode: SIMPLE
      caCertificates: ${join(dir, 'extca.pem')}
      sni: external.example
      subjectAltNames: [payments.partner.example]
`,
    );
    // The credential the example's DestinationRule names, as a mounted Secret.
    const credentials = join(dir, 'credentials');
    mkdirSync(join(credentials, 'external-client'), { recursive: true });
    writeFileSync(
      join(credentials, 'external-client', 'tls.crt'),
      readFileSync(join(dir, 'egress-client.pem')),
    );
    writeFileSync(
      join(credentials, 'external-client', 'tls.key'),
      readFileSync(join(dir, 'egress-client.key')),
    );
    writeFileSync(join(credentials, 'external-client', 'ca.crt'), readFileSync(join(dir, 'extca.pem')));
    gw = await startGateway({
      mode: 'egress',
      dir,
      configDir,
      credentialsDir: credentials,
      gatewayPorts: [80],
      env: { OUTBOUND_TRAFFIC_POLICY: 'REGISTRY_ONLY' },
    });
    const client = await gw.meshCa.workload('prod', 'orders');
    pool = createHbonePool({
      credentials: staticCredentials({
        identity: client.spiffeId,
        certChainPem: client.chainPem,
        keyPem: client.keyPem,
        rootsPem: gw.meshCa.rootPem,
      }),
    });
  });

  afterAll(async () => {
    await pool?.close();
    await gw?.stop();
    await external?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const plain = (host: string) => curl(['-H', `Host: ${host}`, `http://127.0.0.1:${gw.ports.get(80)}/`], dir);

  it('plaintext http://external.example → the external server saw the gateway client certificate', async () => {
    const r = await plain('external.example');
    expect(r.status).toBe('200');
    expect(r.body).toContain('Client certificate');
    expect(r.body).toContain('URI:spiffe://cluster.local/ns/istio-system/sa/istio-egressgateway');
  });

  it('the same over an HBONE tunnel from a mesh workload (what its node agent would send)', async () => {
    const tunnel = await pool.open({
      nextHop: { host: '127.0.0.1', port: gw.hbonePort },
      authority: '240.240.0.10:80',
      expectedIdentities: [gw.identity],
    });
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        { path: '/', headers: { host: 'external.example' }, createConnection: () => tunnel.stream as never },
        (r) => {
          let body = '';
          r.setEncoding('utf8');
          r.on('data', (c: string) => {
            body += c;
          });
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(200);
    expect(res.body).toContain('URI:spiffe://cluster.local/ns/istio-system/sa/istio-egressgateway');
  });

  it('SIMPLE origination refuses a server whose certificate lacks the DestinationRule subjectAltNames', async () => {
    const r = await plain('wrong-san.example');
    expect(r.status).toBe('503');
  });

  it('REGISTRY_ONLY: an undeclared host gets 502 naming it', async () => {
    const r = await plain('elsewhere.example');
    expect(r.status).toBe('502');
    expect(r.body).toContain('WEFT_GATEWAY_UNKNOWN_HOST: elsewhere.example');
  });
});
