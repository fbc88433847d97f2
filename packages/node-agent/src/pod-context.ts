import type { Socket } from 'node:net';
import type { Workload } from '@weft/config';
import type { HbonePool } from '@weft/hbone';
import { DEFAULT_CAPTURE, type Netns } from '@weft/netns';
import type { Logger } from '@weft/telemetry';
import type { ConnectionTracker } from './connections.js';
import type { DiscoveryView } from './discovery.js';
import type { PodInfo } from './lifecycle-protocol.js';
import type { TrafficRecorder } from './traffic.js';

/** SO_MARK of every socket the agent opens in a pod: the capture rules let it through. */
export const AGENT_MARK = DEFAULT_CAPTURE.agentMark;

export interface PodProxyDeps {
  view: DiscoveryView;
  recorder: TrafficRecorder;
  tracker: ConnectionTracker;
  log: Logger;
  trustDomain: string;
  /** Upstream connect timeout toward apps and passthrough destinations. */
  connectTimeoutMs?: number;
}

/** What the outbound and inbound handlers of one pod share (built by PodProxy once its listeners exist). */
export interface PodContext {
  readonly pod: PodInfo;
  readonly identity: string;
  readonly ns: Netns;
  readonly pool: HbonePool;
  readonly deps: PodProxyDeps;
  readonly log: Logger;
  /** The pod's own workload from discovery, when known. */
  workload(): Workload | undefined;
  /** Keeps a client socket for draining. */
  track(socket: Socket): void;
}

/** Resolves with the socket once connected, rejects on error or timeout (the socket is then destroyed). */
export function connected(socket: Socket, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`connect timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
  });
}
