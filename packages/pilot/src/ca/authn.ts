import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { parseSpiffeId, spiffeId } from '@weft/certs';
import { WeftError } from '@weft/telemetry';
import { parse as parseYaml } from 'yaml';

/** Who is asking for a certificate. */
export type Caller =
  /** A node agent: may obtain the identities of pods scheduled on `node`. */
  | { kind: 'node'; node: string; name: string }
  /** A single workload (waypoint, gateway): may obtain only `identity`. */
  | { kind: 'workload'; identity: string; name: string };

/** What the CA knows about a call before authenticating it. */
export interface CallerCredentials {
  /** From `authorization: Bearer <token>`. */
  token: string | undefined;
  /** From the `clusterid` metadata. */
  clusterId: string | undefined;
}

/** Turns a call's credentials into a Caller, or throws WEFT_CA_UNAUTHENTICATED. */
export interface CallerAuthenticator {
  authenticate(credentials: CallerCredentials): Promise<Caller>;
}

export function unauthenticated(why: string): WeftError {
  return new WeftError('WEFT_CA_UNAUTHENTICATED', `the caller is not authenticated: ${why}`);
}

/** One bootstrap token's grant, as written in the token file. */
export type TokenGrant =
  | { kind: 'node'; node: string; expires?: string }
  | { kind: 'workload'; identity: string; expires?: string };

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * Embedded mode: per-node bootstrap tokens from a YAML/JSON file mapping token → grant, e.g.
 * `tokens: { "s3cr3t": { kind: node, node: node1 }, "w4y": { kind: workload, identity: spiffe://… } }`.
 * Tokens are compared by SHA-256 digest in constant time and never logged.
 */
export class BootstrapTokenAuthenticator implements CallerAuthenticator {
  readonly #grants: { digest: Buffer; grant: TokenGrant; label: string }[] = [];

  constructor(
    grants: Readonly<Record<string, TokenGrant>>,
    private readonly now: () => number = Date.now,
  ) {
    let i = 0;
    for (const [token, grant] of Object.entries(grants)) {
      i++;
      if (token.length < 8)
        throw new WeftError('WEFT_CA_TOKEN_FILE', `bootstrap token #${i} is shorter than 8 characters`);
      if (grant.kind === 'node' && (typeof grant.node !== 'string' || grant.node === ''))
        throw new WeftError('WEFT_CA_TOKEN_FILE', `bootstrap token #${i}: kind node needs a node name`);
      if (grant.kind === 'workload') parseSpiffeId(grant.identity);
      if (grant.kind !== 'node' && grant.kind !== 'workload')
        throw new WeftError('WEFT_CA_TOKEN_FILE', `bootstrap token #${i}: kind must be node or workload`);
      if (grant.expires !== undefined && Number.isNaN(Date.parse(grant.expires)))
        throw new WeftError('WEFT_CA_TOKEN_FILE', `bootstrap token #${i}: expires is not a date`);
      this.#grants.push({
        digest: digest(token),
        grant,
        label: grant.kind === 'node' ? `node/${grant.node}` : `workload/${grant.identity}`,
      });
    }
  }

  static async fromFile(path: string, now?: () => number): Promise<BootstrapTokenAuthenticator> {
    let doc: unknown;
    try {
      doc = parseYaml(await readFile(path, 'utf8'));
    } catch (err) {
      throw new WeftError('WEFT_CA_TOKEN_FILE', `cannot read the bootstrap token file ${path}`, {
        cause: err,
      });
    }
    const map = (
      typeof doc === 'object' && doc !== null && 'tokens' in doc ? (doc as { tokens: unknown }).tokens : doc
    ) as unknown;
    if (typeof map !== 'object' || map === null || Array.isArray(map))
      throw new WeftError(
        'WEFT_CA_TOKEN_FILE',
        `${path}: expected a map of token → { kind, node | identity }`,
      );
    return new BootstrapTokenAuthenticator(map as Record<string, TokenGrant>, now);
  }

  async authenticate(credentials: CallerCredentials): Promise<Caller> {
    if (credentials.token === undefined || credentials.token === '') throw unauthenticated('no bearer token');
    const d = digest(credentials.token);
    const hit = this.#grants.find((g) => timingSafeEqual(g.digest, d));
    if (hit === undefined) throw unauthenticated('unknown token');
    if (hit.grant.expires !== undefined && this.now() >= Date.parse(hit.grant.expires))
      throw unauthenticated(`the token for ${hit.label} expired at ${hit.grant.expires}`);
    return hit.grant.kind === 'node'
      ? { kind: 'node', node: hit.grant.node, name: hit.label }
      : { kind: 'workload', identity: hit.grant.identity, name: hit.label };
  }
}

export interface TokenReviewOptions {
  /** e.g. https://kubernetes.default.svc */
  apiServer: string;
  /** pilot's own service-account token (allowed to create TokenReviews). */
  token: () => string | Promise<string>;
  /** PEM CA of the API server. */
  caPem: string;
  trustDomain: string;
  /** Service accounts allowed to impersonate pods on their node, as `namespace/name` (CA_TRUSTED_NODE_ACCOUNTS). */
  trustedNodeAccounts: readonly string[];
  /** Audiences the token must be for (default ["istio-ca"]). */
  audiences?: readonly string[];
  timeoutMs?: number;
}

interface TokenReviewStatus {
  authenticated?: boolean;
  error?: string;
  user?: { username?: string; extra?: Record<string, string[]> };
}

/**
 * Kubernetes mode: validates the caller's service-account token with a TokenReview. A trusted node account
 * (ztunnel's, here weft-node's) becomes a node caller for the node its bound token names; any other
 * service account may obtain only its own identity.
 */
export class TokenReviewAuthenticator implements CallerAuthenticator {
  constructor(private readonly o: TokenReviewOptions) {}

  async authenticate(credentials: CallerCredentials): Promise<Caller> {
    if (credentials.token === undefined || credentials.token === '') throw unauthenticated('no bearer token');
    const status = await this.#review(credentials.token);
    if (status.authenticated !== true)
      throw unauthenticated(status.error ?? 'the API server rejected the token');
    const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(status.user?.username ?? '');
    if (m === null) throw unauthenticated('the token does not belong to a service account');
    const [, ns = '', sa = ''] = m;
    if (this.o.trustedNodeAccounts.includes(`${ns}/${sa}`)) {
      const node = status.user?.extra?.['authentication.kubernetes.io/node-name']?.[0];
      if (node === undefined) throw unauthenticated(`node account ${ns}/${sa} must use a node-bound token`);
      return { kind: 'node', node, name: `node/${node} (${ns}/${sa})` };
    }
    const identity = spiffeId(this.o.trustDomain, ns, sa);
    return { kind: 'workload', identity, name: `workload/${identity}` };
  }

  async #review(token: string): Promise<TokenReviewStatus> {
    const body = JSON.stringify({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, audiences: this.o.audiences ?? ['istio-ca'] },
    });
    const own = await this.o.token();
    const url = new URL('/apis/authentication.k8s.io/v1/tokenreviews', this.o.apiServer);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          ca: this.o.caPem,
          timeout: this.o.timeoutMs ?? 5000,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${own}`,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (res.statusCode !== 201 && res.statusCode !== 200) {
              reject(
                new WeftError(
                  'WEFT_CA_TOKEN_REVIEW',
                  `TokenReview failed with HTTP ${res.statusCode}; check pilot's RBAC (create tokenreviews)`,
                ),
              );
              return;
            }
            try {
              const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
                status?: TokenReviewStatus;
              };
              resolve(doc.status ?? {});
            } catch (err) {
              reject(new WeftError('WEFT_CA_TOKEN_REVIEW', 'TokenReview answer is not JSON', { cause: err }));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('TokenReview timed out')));
      req.on('error', (err) =>
        reject(
          new WeftError('WEFT_CA_TOKEN_REVIEW', `TokenReview request failed: ${err.message}`, { cause: err }),
        ),
      );
      req.end(body);
    });
  }
}
