/**
 * weft-waypoint as a process, with weft-pilot: certificates from pilot's CA, discovery from the YAML
 * directory, HBONE in from clients with workload certificates, HBONE out to the payments pod. The
 * brief's scenarios: AuthorizationPolicy (orders POST /charge), RequestAuthentication outcomes, a gRPC
 * call allowed and denied (Debian's python3-grpcio client), and policy changes without a restart.
 */

import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import { type App, commandsSkipReason, freePort, spawnApp, waitFor } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRPC_VIP, ISSUER, POD_IP, VIP, WaypointMesh } from './harness.js';

const execFileP = promisify(execFile);
const PY = '/usr/bin/python3';

async function grpcSkipReason(): Promise<string | undefined> {
  const missing = commandsSkipReason([PY]);
  if (missing !== undefined) return missing;
  try {
    await execFileP(PY, ['-c', 'import grpc']);
    return undefined;
  } catch {
    return 'python3-grpcio is not installed (apt-get install python3-grpcio)';
  }
}

const GRPC_SERVER = `
import grpc, sys
from concurrent import futures
def charge(req, ctx): return b'charged:' + req
def refund(req, ctx): return b'refunded'
h = grpc.method_handlers_generic_handler('pay.Payments', {
  'Charge': grpc.unary_unary_rpc_method_handler(charge),
  'Refund': grpc.unary_unary_rpc_method_handler(refund)})
s = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
s.add_generic_rpc_handlers((h,))
s.add_insecure_port('${POD_IP}:' + sys.argv[1])
s.start()
print('listening', flush=True)
s.wait_for_termination()
`;

const GRPC_CLIENT = `
import grpc, sys
ch = grpc.insecure_channel('127.0.0.1:' + sys.argv[1])
for m in ['Charge', 'Refund']:
  try:
    r = ch.unary_unary('/pay.Payments/' + m)(b'5', timeout=15)
    print(m, 'OK', r.decode())
  except grpc.RpcError as e:
    print(m, e.code().name, e.details())
`;

function httpOver(
  stream: Duplex,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      method,
      path,
      headers: { host: 'payments.prod', ...headers },
      createConnection: () => stream as never,
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const allowOrders = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: payments-allow-orders
  namespace: prod
spec:
  targetRefs:
    - kind: Gateway
      group: gateway.networking.k8s.io
      name: waypoint
  action: ALLOW
  rules:
    - from:
        - source:
            principals: ["cluster.local/ns/prod/sa/orders"]
      to:
        - operation:
            methods: ["POST"]
            paths: ["/charge"]
`;

describe('weft-waypoint with weft-pilot', () => {
  const mesh = new WaypointMesh();
  let app: Server;
  let grpcApp: App | undefined;
  let grpcSkip: string | undefined;

  const call = async (sa: string, method: string, path: string, headers?: Record<string, string>) =>
    httpOver(await mesh.tunnel(sa, `${VIP}:80`), method, path, headers);

  beforeAll(async () => {
    app = createServer((req, res) =>
      res.end(`${req.method} ${req.url} auth=${req.headers.authorization ?? '-'}`),
    );
    app.listen(0, POD_IP);
    await once(app, 'listening');
    grpcSkip = await grpcSkipReason();
    const grpcPort = await freePort(POD_IP);
    if (grpcSkip === undefined) {
      grpcApp = await spawnApp({
        name: 'grpc-app',
        command: PY,
        args: ['-c', GRPC_SERVER, String(grpcPort)],
        ready: { logLine: /listening/ },
      });
    }
    await mesh.start({ http: (app.address() as AddressInfo).port, grpc: grpcPort });
  });

  afterAll(async () => {
    await mesh.destroy();
    await grpcApp?.stop();
    app?.close();
  });

  it('AuthorizationPolicy at the waypoint: orders POST /charge → 200, GET /charge → 403, inventory → 403', async () => {
    expect(await call('orders', 'GET', '/charge')).toMatchObject({ status: 200 }); // no policy yet
    mesh.writeConfig('10-authz.yaml', allowOrders);
    await waitFor(async () => (await call('orders', 'GET', '/charge')).status === 403, {
      timeoutMs: 20_000,
      what: 'the policy to reach the waypoint',
    });
    expect(await call('orders', 'POST', '/charge')).toMatchObject({
      status: 200,
      body: expect.stringMatching(/^POST \/charge/),
    });
    expect(await call('orders', 'GET', '/charge')).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect(await call('inventory', 'POST', '/charge')).toEqual({ status: 403, body: 'RBAC: access denied' });
  });

  it('RequestAuthentication: valid 200, expired 401, wrong aud 403, bad signature 401, unknown kid 401, missing 200; then missing 403 once requestPrincipals ["*"] is required', async () => {
    mesh.removeConfig('10-authz.yaml');
    mesh.writeConfig(
      '20-jwt.yaml',
      `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: jwt
  namespace: prod
spec:
  targetRefs:
    - kind: Gateway
      group: gateway.networking.k8s.io
      name: waypoint
  jwtRules:
    - issuer: ${ISSUER}
      audiences: ["payments"]
      jwks: '${JSON.stringify({ keys: [mesh.jwk] })}'
`,
    );
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    const expired = mesh.token({ exp: Math.floor(Date.now() / 1000) - 300 });
    await waitFor(async () => (await call('web', 'GET', '/', bearer(expired))).status === 401, {
      timeoutMs: 20_000,
      what: 'the RequestAuthentication to reach the waypoint',
    });
    const valid = await call('web', 'GET', '/', bearer(mesh.token()));
    expect(valid.status).toBe(200);
    expect(valid.body).toMatch(/auth=-$/); // the token is not forwarded (forwardOriginalToken: false)
    expect(await call('web', 'GET', '/', bearer(expired))).toEqual({ status: 401, body: 'Jwt is expired' });
    expect(await call('web', 'GET', '/', bearer(mesh.token({ aud: 'other' })))).toEqual({
      status: 403,
      body: 'Audiences in Jwt are not allowed',
    });
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect((await call('web', 'GET', '/', bearer(mesh.token({}, { key: otherKey })))).status).toBe(401);
    expect((await call('web', 'GET', '/', bearer(mesh.token({}, { kid: 'unknown' })))).status).toBe(401);
    expect((await call('web', 'GET', '/')).status).toBe(200);

    mesh.writeConfig(
      '30-require-jwt.yaml',
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: require-jwt
  namespace: prod
spec:
  targetRefs:
    - kind: Gateway
      group: gateway.networking.k8s.io
      name: waypoint
  rules:
    - from:
        - source:
            requestPrincipals: ["*"]
`,
    );
    await waitFor(async () => (await call('web', 'GET', '/')).status === 403, {
      timeoutMs: 20_000,
      what: 'require-jwt to reach the waypoint',
    });
    expect(await call('web', 'GET', '/')).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect((await call('web', 'GET', '/', bearer(mesh.token()))).status).toBe(200);
  });

  it('gRPC through the waypoint: an allowed call succeeds, a denied one fails with PERMISSION_DENIED', async (ctx) => {
    if (grpcSkip !== undefined) ctx.skip(grpcSkip);
    mesh.removeConfig('30-require-jwt.yaml');
    mesh.removeConfig('20-jwt.yaml');
    mesh.writeConfig('10-authz.yaml', allowOrders);
    mesh.writeConfig(
      '40-grpc.yaml',
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: grpc-allow-charge
  namespace: prod
spec:
  targetRefs:
    - kind: Service
      group: ""
      name: payments-grpc
  rules:
    - from:
        - source:
            principals: ["cluster.local/ns/prod/sa/orders"]
      to:
        - operation:
            paths: ["/pay.Payments/Charge"]
`,
    );
    await waitFor(async () => (await call('web', 'GET', '/')).status === 403, {
      timeoutMs: 20_000,
      what: 'the gRPC policies to reach the waypoint',
    });
    // What orders' node agent does: its outbound connection goes through an HBONE tunnel to the waypoint.
    const shim: NetServer = createNetServer({ allowHalfOpen: true }, (socket) => {
      mesh.tunnel('orders', `${GRPC_VIP}:9090`).then(
        (t) => {
          socket.pipe(t);
          t.pipe(socket);
          t.on('error', () => socket.destroy());
          socket.on('error', () => t.destroy());
        },
        () => socket.destroy(),
      );
    });
    shim.listen(0, '127.0.0.1');
    await once(shim, 'listening');
    const { stdout } = await execFileP(
      PY,
      ['-c', GRPC_CLIENT, String((shim.address() as AddressInfo).port)],
      { timeout: 60_000 },
    );
    shim.close();
    expect(stdout).toContain('Charge OK charged:5');
    expect(stdout).toMatch(/Refund PERMISSION_DENIED RBAC: access denied/);
  });

  it('reports istio_requests_total with the waypoint as reporter', async () => {
    const text = await (await fetch(`http://127.0.0.1:${mesh.metricsPort}/metrics`)).text();
    expect(text).toMatch(
      /istio_requests_total\{[^}]*reporter="waypoint"[^}]*source_principal="spiffe:\/\/cluster.local\/ns\/prod\/sa\/orders"[^}]*response_code="403"/,
    );
    if (grpcSkip === undefined) {
      expect(text).toMatch(/istio_requests_total\{[^}]*request_protocol="grpc"[^}]*grpc_response_status="7"/);
    }
  });
});
