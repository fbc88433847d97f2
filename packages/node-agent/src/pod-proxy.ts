/**
 * The proxy of one enrolled pod: capture rules in its namespace, and three listeners bound INSIDE it
 * (15001 outbound, 15006 inbound plaintext, 15008 inbound HBONE) with SO_REUSEPORT so a second agent
 * (or worker) can bind beside them. Every socket the agent opens on the pod's behalf is made in the pod's
 * namespace with SO_MARK 0x539, so peers see the pod's IP and the capture rules skip it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Workload } from '@weft/config';
import {
  createHbonePool,
  createHboneServer,
  type HboneCredentials,
  type HbonePool,
  type HboneServer,
} from '@weft/hbone';
import { connectIn, listenIn, listenServerIn, Netns } from '@weft/netns';
import type { Logger } from '@weft/telemetry';
import { inboundHbone, onPlaintext } from './inbound.js';
import type { PodInfo } from './lifecycle-protocol.js';
import { onOutbound } from './outbound.js';
import { AGENT_MARK, type PodContext, type PodProxyDeps } from './pod-context.js';

export { AGENT_MARK, type PodProxyDeps };

export class PodProxy {
  readonly pod: PodInfo;
  readonly identity: string;
  readonly #deps: PodProxyDeps;
  readonly #log: Logger;
  #ns: Netns | undefined;
  #hbone: HboneServer | undefined;
  #outbound: Server | undefined;
  #plaintext: Server | undefined;
  #pool: HbonePool | undefined;
  readonly #clients = new Set<Socket>();
  /** One 'close' listener for every tracked socket (`this` is the socket): no closure per connection. */
  readonly #forget: (this: Socket) => void;
  #closed = false;

  constructor(pod: PodInfo, deps: PodProxyDeps) {
    this.pod = pod;
    this.#deps = deps;
    this.identity = `spiffe://${deps.trustDomain}/ns/${pod.namespace}/sa/${pod.serviceAccount}`;
    this.#log = deps.log.child({ pod: `${pod.namespace}/${pod.name}` });
    const clients = this.#clients;
    this.#forget = function forget(this: Socket) {
      clients.delete(this);
    };
  }

  get netns(): Netns | undefined {
    return this.#ns;
  }

  /** The pod's own workload from discovery (by its first IP), when discovery knows it. */
  workload(): Workload | undefined {
    for (const ip of this.pod.ips) {
      const w = this.#deps.view.workloadByIp(ip);
      if (w !== undefined) return w;
    }
    return undefined;
  }

  /**
   * Binds the pod's listeners with its credentials. The capture rules are the caller's (installed once per
   * pod by the control thread, before any listener: fail closed), so several workers can each bind here.
   */
  async start(credentials: HboneCredentials): Promise<void> {
    const ns = Netns.open(this.pod.netnsPath);
    this.#ns = ns;
    try {
      const pool = createHbonePool({
        credentials,
        // Not half-open: a peer agent that goes away (FIN) must close the pooled session at once.
        connect: (hop) =>
          connectIn(ns, { host: hop.host, port: hop.port, mark: AGENT_MARK, allowHalfOpen: false }),
        logger: this.#log,
      });
      this.#pool = pool;
      const ctx: PodContext = {
        pod: this.pod,
        identity: this.identity,
        ns,
        pool,
        deps: this.#deps,
        log: this.#log,
        workload: () => this.workload(),
        track: (socket) => this.#track(socket),
      };
      const hbone = createHboneServer({
        credentials,
        handler: (req) => inboundHbone(ctx, req),
        logger: this.#log,
      });
      this.#hbone = hbone;
      await hbone.listen({
        fd: listenIn(ns, { host: '0.0.0.0', port: 15008, reusePort: true, mark: AGENT_MARK }),
      });
      const outbound = createServer({ allowHalfOpen: true, noDelay: true }, (s) => onOutbound(ctx, s));
      this.#outbound = outbound;
      await listenServerIn(outbound, ns, {
        host: '127.0.0.1',
        port: 15001,
        reusePort: true,
        mark: AGENT_MARK,
      });
      const plaintext = createServer({ allowHalfOpen: true, noDelay: true }, (s) => onPlaintext(ctx, s));
      this.#plaintext = plaintext;
      await listenServerIn(plaintext, ns, {
        host: '127.0.0.1',
        port: 15006,
        reusePort: true,
        transparent: true,
        mark: AGENT_MARK,
      });
    } catch (err) {
      await this.stop({ drainMs: 0 });
      throw err;
    }
  }

  /** Stops accepting, GOAWAY on HBONE, lets open connections finish for `drainMs`, then closes what is left. */
  async stop(options: { drainMs: number }): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#outbound?.close();
    this.#plaintext?.close();
    const deadline = Date.now() + options.drainMs;
    await Promise.all([
      this.#hbone?.drain(options.drainMs),
      this.#pool?.drain(options.drainMs),
      (async () => {
        while (this.#clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      })(),
    ]);
    for (const c of this.#clients) c.destroy();
    await this.#pool?.close();
    await this.#hbone?.close();
    this.#ns?.close();
  }

  #track(socket: Socket): void {
    this.#clients.add(socket);
    socket.on('close', this.#forget);
  }

  stats(): { clients: number; hboneConnections: number } {
    return { clients: this.#clients.size, hboneConnections: this.#hbone?.connectionCount ?? 0 };
  }
}
