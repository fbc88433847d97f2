/**
 * Traffic that is not HTTP: authorized on its L4 attributes only (as Istio does: ALLOW rules that need
 * HTTP never match, DENY rules are checked on their L4 parts), then piped to a healthy endpoint.
 */
import type { Duplex } from 'node:stream';
import type { Decision } from '@weft/policy';
import type { Logger } from '@weft/telemetry';
import { errorMessage } from '@weft/telemetry/errors';
import type { Endpoint, EndpointIndex } from './mesh-view.js';
import type { WaypointPolicies } from './policies.js';
import type { ConnInfo } from './telemetry.js';
import type { UpstreamConnector, UpstreamStream } from './upstream.js';

export interface TcpProxyDeps {
  readonly policies: WaypointPolicies;
  readonly endpoints: EndpointIndex;
  readonly connector: UpstreamConnector;
  readonly logger: Logger;
  readonly maxAttempts: number;
  readonly onClosed?: (
    conn: ConnInfo,
    report: { sent: number; received: number; endpoint: Endpoint | undefined; denied: boolean },
  ) => void;
}

/** The L4 decision for a connection (no HTTP attributes). */
export function authorizeTcp(policies: WaypointPolicies, conn: ConnInfo): Decision {
  return policies.authorize(conn.dest, {
    ...(conn.peerIdentity === '' ? {} : { sourcePrincipal: conn.peerIdentity }),
    sourceIp: conn.sourceIp,
    destinationIp: conn.dest.ip,
    destinationPort: conn.dest.port,
  });
}

/** Connects to the first endpoint that accepts, trying at most `maxAttempts`. */
export async function connectAny(
  connector: UpstreamConnector,
  endpoints: readonly Endpoint[],
  maxAttempts: number,
): Promise<{ stream: UpstreamStream; endpoint: Endpoint }> {
  let last: unknown = new Error('no healthy upstream');
  for (let i = 0; i < Math.min(endpoints.length, maxAttempts); i++) {
    const endpoint = endpoints[i] as Endpoint;
    try {
      return { stream: await connector.connect(endpoint), endpoint };
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

export class TcpProxy {
  readonly #d: TcpProxyDeps;

  constructor(deps: TcpProxyDeps) {
    this.#d = deps;
  }

  /** Proxies `client` (whose first bytes, if any were read while sniffing, are `head`). */
  handle(client: Duplex, conn: ConnInfo, head: Buffer | undefined): void {
    client.on('error', () => {});
    const decision = authorizeTcp(this.#d.policies, conn);
    if (!decision.allowed) {
      this.#d.logger.debug({ src: conn.peerIdentity, reason: decision.reason }, 'TCP connection denied');
      this.#d.onClosed?.(conn, { sent: 0, received: 0, endpoint: undefined, denied: true });
      client.destroy();
      return;
    }
    client.pause();
    connectAny(this.#d.connector, this.#d.endpoints.endpoints(conn.dest), this.#d.maxAttempts).then(
      ({ stream, endpoint }) => {
        let received = head?.length ?? 0;
        let sent = 0;
        if (head !== undefined && head.length > 0) stream.write(head);
        client.on('data', (c: Buffer) => {
          received += c.length;
        });
        stream.on('data', (c: Buffer) => {
          sent += c.length;
        });
        stream.on('error', () => client.destroy());
        let closed = 0;
        const onClose = (): void => {
          if (++closed === 2) this.#d.onClosed?.(conn, { sent, received, endpoint, denied: false });
        };
        client.once('close', () => {
          stream.destroy();
          onClose();
        });
        stream.once('close', () => {
          client.destroy();
          onClose();
        });
        client.pipe(stream);
        stream.pipe(client);
      },
      (err: unknown) => {
        this.#d.logger.debug({ err: errorMessage(err) }, 'TCP upstream connect failed');
        client.destroy();
      },
    );
  }
}
