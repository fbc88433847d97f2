/**
 * How the waypoint reaches an endpoint: an HBONE tunnel to the pod's 15008 with the waypoint's identity
 * (pods in the mesh), or plain TCP (pods outside it; tests). The result is a connected byte stream.
 */
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Workload } from '@weft/config';
import { workloadSpiffeId } from '@weft/config';
import type { HbonePool } from '@weft/hbone';
import { formatHostPort } from '@weft/hbone';
import { WaypointError, WaypointErrorCode } from './errors.js';
import type { Endpoint } from './mesh-view.js';

/** A byte stream to an endpoint, with the socket methods Node's HTTP client calls. */
export type UpstreamStream = Duplex & {
  setNoDelay?: (v?: boolean) => unknown;
  setKeepAlive?: (v?: boolean, d?: number) => unknown;
  ref?: () => unknown;
  unref?: () => unknown;
};

export interface UpstreamConnector {
  /** Resolves once connected (for HBONE: once the CONNECT got 200). */
  connect(endpoint: Endpoint, signal?: AbortSignal): Promise<UpstreamStream>;
}

const noop = function (this: unknown) {
  return this;
};

/** Gives a non-socket Duplex the no-op socket methods http.Agent calls on its sockets. */
export function socketLike(stream: Duplex): UpstreamStream {
  const s = stream as UpstreamStream;
  s.setNoDelay ??= noop;
  s.setKeepAlive ??= noop;
  s.ref ??= noop;
  s.unref ??= noop;
  return s;
}

/** Plain TCP to ip:port. */
export function tcpConnector(options: { timeoutMs?: number } = {}): UpstreamConnector {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    connect(endpoint) {
      return new Promise((resolve, reject) => {
        const socket = connect({
          host: endpoint.ip,
          port: endpoint.port,
          noDelay: true,
          allowHalfOpen: true,
        });
        const timer = setTimeout(() => {
          socket.destroy();
          reject(
            new WaypointError(
              WaypointErrorCode.Upstream,
              `connect to ${formatHostPort(endpoint.ip, endpoint.port)} timed out`,
            ),
          );
        }, timeoutMs);
        socket.once('connect', () => {
          clearTimeout(timer);
          socket.off('error', onError);
          resolve(socket);
        });
        const onError = (err: Error): void => {
          clearTimeout(timer);
          reject(
            new WaypointError(
              WaypointErrorCode.Upstream,
              `connect to ${formatHostPort(endpoint.ip, endpoint.port)} failed: ${err.message}`,
              {
                cause: err,
              },
            ),
          );
        };
        socket.once('error', onError);
      });
    },
  };
}

export interface HboneConnectorOptions {
  pool: HbonePool;
  /** The HBONE port of pods (15008). */
  hbonePort?: number;
  /** Used for workloads that are not in the mesh (tunnelProtocol NONE) or unknown IPs. */
  plain?: UpstreamConnector;
}

function inMesh(w: Workload | undefined): w is Workload {
  return w !== undefined && w.tunnelProtocol === 'HBONE';
}

/** HBONE to the pod (expected identity = the workload's SPIFFE ID), plain TCP for pods outside the mesh. */
export function hboneConnector(options: HboneConnectorOptions): UpstreamConnector {
  const plain = options.plain ?? tcpConnector();
  const port = options.hbonePort ?? 15008;
  return {
    async connect(endpoint, signal) {
      const w = endpoint.workload;
      if (!inMesh(w)) return plain.connect(endpoint, signal);
      try {
        const tunnel = await options.pool.open({
          nextHop: { host: endpoint.ip, port },
          authority: formatHostPort(endpoint.ip, endpoint.port),
          expectedIdentities: [workloadSpiffeId(w)],
          ...(signal === undefined ? {} : { signal }),
        });
        return socketLike(tunnel.stream);
      } catch (err) {
        throw new WaypointError(
          WaypointErrorCode.Upstream,
          `HBONE to ${formatHostPort(endpoint.ip, endpoint.port)} failed: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
    },
  };
}
