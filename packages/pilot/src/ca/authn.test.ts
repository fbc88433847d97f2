import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootstrapTokenAuthenticator, TokenReviewAuthenticator } from './authn.js';
import { CertificateAuthority } from './authority.js';
import { authorizeIssue, staticPlacement } from './authz.js';
import { DirectoryCaStore } from './store.js';

const creds = (token?: string) => ({ token, clusterId: 'Kubernetes' });

describe('bootstrap tokens', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'weft-tok-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a YAML token file and maps tokens to callers', async () => {
    writeFileSync(
      join(dir, 'tokens.yaml'),
      [
        'tokens:',
        '  node1-secret-token: { kind: node, node: node1 }',
        '  gw-secret-token-1: { kind: workload, identity: "spiffe://cluster.local/ns/gw/sa/ingress" }',
        '  old-secret-token-: { kind: node, node: node2, expires: "2020-01-01T00:00:00Z" }',
      ].join('\n'),
    );
    const auth = await BootstrapTokenAuthenticator.fromFile(join(dir, 'tokens.yaml'));
    expect(await auth.authenticate(creds('node1-secret-token'))).toEqual({
      kind: 'node',
      node: 'node1',
      name: 'node/node1',
    });
    expect(await auth.authenticate(creds('gw-secret-token-1'))).toMatchObject({
      kind: 'workload',
      identity: 'spiffe://cluster.local/ns/gw/sa/ingress',
    });
    for (const t of [undefined, '', 'nope-nope-nope', 'old-secret-token-'])
      await expect(auth.authenticate(creds(t))).rejects.toMatchObject({ code: 'WEFT_CA_UNAUTHENTICATED' });
  });

  it('reads JSON too and rejects bad files', async () => {
    writeFileSync(join(dir, 't.json'), JSON.stringify({ 'abcdefgh-1': { kind: 'node', node: 'n' } }));
    expect(
      await (await BootstrapTokenAuthenticator.fromFile(join(dir, 't.json'))).authenticate(
        creds('abcdefgh-1'),
      ),
    ).toMatchObject({ node: 'n' });
    writeFileSync(join(dir, 'bad.yaml'), 'short: { kind: node, node: n }');
    await expect(BootstrapTokenAuthenticator.fromFile(join(dir, 'bad.yaml'))).rejects.toMatchObject({
      code: 'WEFT_CA_TOKEN_FILE',
    });
    writeFileSync(join(dir, 'bad2.yaml'), '- a\n- b');
    await expect(BootstrapTokenAuthenticator.fromFile(join(dir, 'bad2.yaml'))).rejects.toMatchObject({
      code: 'WEFT_CA_TOKEN_FILE',
    });
    await expect(BootstrapTokenAuthenticator.fromFile(join(dir, 'missing.yaml'))).rejects.toMatchObject({
      code: 'WEFT_CA_TOKEN_FILE',
    });
  });
});

describe('authorization rules', () => {
  const placement = staticPlacement({ node1: ['spiffe://cluster.local/ns/a/sa/x'] });
  it.each([
    [{ kind: 'node' as const, node: 'node1', name: 'n' }, 'spiffe://cluster.local/ns/a/sa/x', undefined],
    [
      { kind: 'node' as const, node: 'node2', name: 'n' },
      'spiffe://cluster.local/ns/a/sa/x',
      'WEFT_CA_NOT_ON_NODE',
    ],
    [
      { kind: 'node' as const, node: 'node1', name: 'n' },
      'spiffe://cluster.local/ns/a/sa/y',
      'WEFT_CA_NOT_ON_NODE',
    ],
    [
      { kind: 'workload' as const, identity: 'spiffe://cluster.local/ns/w/sa/wp', name: 'w' },
      'spiffe://cluster.local/ns/w/sa/wp',
      undefined,
    ],
    [
      { kind: 'workload' as const, identity: 'spiffe://cluster.local/ns/w/sa/wp', name: 'w' },
      'spiffe://cluster.local/ns/a/sa/x',
      'WEFT_CA_NOT_OWN_IDENTITY',
    ],
  ])('%j asking for %s → %s', (caller, identity, code) => {
    if (code === undefined) expect(() => authorizeIssue(caller, identity, placement)).not.toThrow();
    else
      expect(() => authorizeIssue(caller, identity, placement)).toThrow(
        expect.objectContaining({ code, message: expect.stringMatching(/^rule "/) }),
      );
  });
});

describe('TokenReview', () => {
  let server: Server;
  let caPem: string;
  let dir: string;
  const reviews: unknown[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-tr-'));
    const ca = await CertificateAuthority.open(new DirectoryCaStore(dir));
    caPem = ca.bundle().roots[0]!;
    const serving = ca.issueServing({
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      ttlSeconds: 3600,
    });
    server = createServer({ cert: serving.chainPem, key: serving.keyPem }, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        if (req.headers.authorization !== 'Bearer pilot-sa-token') {
          res.writeHead(403).end();
          return;
        }
        const review = JSON.parse(body) as { spec: { token: string } };
        reviews.push(review);
        const users: Record<string, unknown> = {
          'ztunnel-bound': {
            username: 'system:serviceaccount:weft-system:weft-node',
            extra: { 'authentication.kubernetes.io/node-name': ['node7'] },
          },
          'ztunnel-unbound': { username: 'system:serviceaccount:weft-system:weft-node' },
          'app-token': { username: 'system:serviceaccount:prod:orders' },
          'user-token': { username: 'alice' },
        };
        const user = users[review.spec.token];
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            status:
              user === undefined
                ? { authenticated: false, error: 'invalid bearer token' }
                : { authenticated: true, user },
          }),
        );
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('maps node-bound tokens of trusted node accounts to nodes and other service accounts to their identity', async () => {
    const auth = new TokenReviewAuthenticator({
      apiServer: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: () => 'pilot-sa-token',
      caPem,
      trustDomain: 'cluster.local',
      trustedNodeAccounts: ['weft-system/weft-node'],
    });
    expect(await auth.authenticate(creds('ztunnel-bound'))).toMatchObject({ kind: 'node', node: 'node7' });
    expect(await auth.authenticate(creds('app-token'))).toMatchObject({
      kind: 'workload',
      identity: 'spiffe://cluster.local/ns/prod/sa/orders',
    });
    for (const t of ['ztunnel-unbound', 'user-token', 'forged', undefined])
      await expect(auth.authenticate(creds(t))).rejects.toMatchObject({ code: 'WEFT_CA_UNAUTHENTICATED' });
    expect(reviews[0]).toMatchObject({ kind: 'TokenReview', spec: { audiences: ['istio-ca'] } });
    const denied = new TokenReviewAuthenticator({
      apiServer: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: () => 'wrong',
      caPem,
      trustDomain: 'cluster.local',
      trustedNodeAccounts: [],
    });
    await expect(denied.authenticate(creds('app-token'))).rejects.toMatchObject({
      code: 'WEFT_CA_TOKEN_REVIEW',
    });
  });
});
