/**
 * The proxy of one enrolled pod: capture rules in its namespace, and three listeners bound INSIDE it
 * (15001 outbound, 15006 inbound plaintext, 15008 inbound HBONE) with SO_REUSEPORT so a second agent
 * (or worker) can bind beside them. Every socket the agent opens on the pod's behalf is made in the pod's
 * namespace with SO_MARK 0x539, so peers see the pod's IP and the capture rules skip it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Workload } from '@weft/config';
import {
  abortStream,
  type ConnectDecision,
  type ConnectRequest,
  createHbonePool,
  createHboneServer,
  type HboneCredentials,
  type HbonePool,
  type HboneServer,
  pump,
} from '@weft/hbone';
import { connectIn, DEFAULT_CAPTURE, listenIn, listenServerIn, Netns, originalDstOf } from '@weft/netns';
import type { Logger } from '@weft/telemetry';
import { errorCode, errorMessage } from '@weft/telemetry/errors';
import { authorize } from './authz.js';
import type { ConnectionTracker } from './connections.js';
import { type DiscoveryView, spiffeIdOf } from './discovery.js';
import type { PodInfo } from './lifecycle-protocol.js';
import { routeOutbound } from './routing.js';
import type { ConnectionInfo, TrafficRecorder } from './traffic.js';

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

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Resolves with the socket once connected, rejects on error or timeout (the socket is then destroyed). */
function connected(socket: Socket, timeoutMs: number): Promise<Socket> {
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
  #closed = false;

  constructor(pod: PodInfo, deps: PodProxyDeps) {
    this.pod = pod;
    this.#deps = deps;
    this.identity = `spiffe://${deps.trustDomain}/ns/${pod.namespace}/sa/${pod.serviceAccount}`;
    this.#log = deps.log.child({ pod: `${pod.namespace}/${pod.name}` });
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
      this.#pool = createHbonePool({
        credentials,
        connect: (hop) => connectIn(ns, { host: hop.host, port: hop.port, mark: AGENT_MARK }),
        logger: this.#log,
      });
      const hbone = createHboneServer({
        credentials,
        handler: (req) => this.#inboundHbone(req),
        logger: this.#log,
      });
      this.#hbone = hbone;
      await hbone.listen({
        fd: listenIn(ns, { host: '0.0.0.0', port: 15008, reusePort: true, mark: AGENT_MARK }),
      });
      const outbound = createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.#onOutbound(s));
      this.#outbound = outbound;
      await listenServerIn(outbound, ns, {
        host: '127.0.0.1',
        port: 15001,
        reusePort: true,
        mark: AGENT_MARK,
      });
      const plaintext = createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.#onPlaintext(s));
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
    socket.once('close', () => this.#clients.delete(socket));
  }

  // ---- outbound (15001) ----

  #onOutbound(client: Socket): void {
    this.#track(client);
    client.on('error', () => undefined);
    const ns = this.#ns;
    if (ns === undefined) return void client.destroy();
    let dst: { address: string; port: number };
    try {
      dst = originalDstOf(client);
    } catch (err) {
      this.#log.warn({ err: errorMessage(err) }, 'outbound connection without an original destination');
      return void client.destroy();
    }
    const src = this.workload();
    const route = routeOutbound(this.#deps.view, dst.address, dst.port, Math.random, src);
    const info: ConnectionInfo = {
      direction: 'outbound',
      srcAddr: hostPort(client.remoteAddress ?? '', client.remotePort ?? 0),
      srcWorkload: src,
      srcIdentity: this.identity,
      dstAddr: hostPort(dst.address, dst.port),
      dstHboneAddr: undefined,
      dstWorkload: route.kind === 'refuse' ? undefined : route.workload,
      dstService: route.service,
      dstIdentity: undefined,
      mtls: route.kind === 'hbone',
    };
    const started = performance.now();
    if (route.kind === 'refuse') {
      this.#deps.recorder.failed(info, {
        bytesSent: 0,
        bytesRecv: 0,
        durationMs: 0,
        error: `${route.code}: ${route.reason}`,
        responseFlags: 'NR',
      });
      abortStream(client);
      return;
    }
    if (route.kind === 'passthrough') {
      info.dstAddr = hostPort(route.host, route.port);
      const upstream = connectIn(ns, { host: route.host, port: route.port, mark: AGENT_MARK });
      upstream.on('error', () => undefined);
      connected(upstream, this.#deps.connectTimeoutMs ?? 10_000).then(
        (up) => this.#relay(client, up, info, started),
        (err: unknown) => {
          this.#deps.recorder.failed(info, {
            bytesSent: 0,
            bytesRecv: 0,
            durationMs: performance.now() - started,
            error: `WEFT_NODE_UPSTREAM_FAILED: ${errorCode(err)} ${errorMessage(err)}`,
            responseFlags: 'UF',
          });
          abortStream(client);
        },
      );
      return;
    }
    info.dstHboneAddr = route.authority;
    info.dstAddr = hostPort(route.nextHop.host, route.nextHop.port);
    info.dstIdentity = route.expectedIdentities[0];
    const pool = this.#pool;
    if (pool === undefined) return void client.destroy();
    client.pause();
    const request = {
      nextHop: { host: route.nextHop.host, port: route.nextHop.port, sourceIp: this.pod.ips[0] as string },
      authority: route.authority,
      expectedIdentities: route.expectedIdentities,
      forwardedFor: hostPort(client.remoteAddress ?? '', client.remotePort ?? 0),
    };
    pool
      .open(request)
      // No byte of the client's has been forwarded yet, so a tunnel refused before any answer (the peer
      // agent sent GOAWAY during a handover, or its connection just closed) is retried once on a new one.
      .catch((err: unknown) => {
        if ((err as { status?: number }).status !== undefined || client.destroyed) throw err;
        this.#log.debug({ err: errorMessage(err) }, 'retrying tunnel open once');
        return pool.open(request);
      })
      .then(
        (tunnel) => {
          info.dstIdentity = tunnel.peerIdentity;
          client.resume();
          this.#relay(client, tunnel.stream, info, started);
        },
        (err: unknown) => {
          const status = (err as { status?: number }).status;
          this.#deps.recorder.failed(info, {
            bytesSent: 0,
            bytesRecv: 0,
            durationMs: performance.now() - started,
            error: `${errorCode(err)}: ${errorMessage(err)}`,
            responseFlags: status === 401 ? 'DENY' : 'CONNECT',
          });
          abortStream(client);
        },
      );
  }

  #relay(
    client: Socket,
    upstream: import('node:stream').Duplex,
    info: ConnectionInfo,
    started: number,
  ): void {
    if (client.destroyed) {
      abortStream(upstream);
      return;
    }
    const labels = this.#deps.recorder.opened(info);
    // A reset tunnel (RST_STREAM: policy close, upstream failure) resets the client too, even when the
    // stream had already ended cleanly in one direction (the pump would leave the client half-open).
    upstream.once('error', () => abortStream(client));
    void pump(client, upstream).then((r) => {
      this.#deps.recorder.closed(info, labels, {
        bytesSent: r.bytesAtoB,
        bytesRecv: r.bytesBtoA,
        durationMs: performance.now() - started,
        error: r.error === undefined ? undefined : errorMessage(r.error),
        responseFlags: r.error === undefined ? '-' : 'UC',
      });
    });
  }

  // ---- inbound ----

  /** Connects to the app inside the pod from the original client address (IP_TRANSPARENT). */
  #connectApp(host: string, port: number, clientIp: string): Promise<Socket> {
    const ns = this.#ns as Netns;
    const local = this.pod.ips.includes(clientIp) ? undefined : clientIp;
    const socket = connectIn(ns, {
      host,
      port,
      mark: AGENT_MARK,
      ...(local === undefined ? {} : { localAddress: local, transparent: true }),
    });
    return connected(socket, this.#deps.connectTimeoutMs ?? 10_000);
  }

  async #inboundHbone(req: ConnectRequest): Promise<ConnectDecision> {
    const view = this.#deps.view;
    const clientIp = req.connection.remoteAddress;
    const info: ConnectionInfo = {
      direction: 'inbound',
      srcAddr: hostPort(clientIp, req.connection.remotePort),
      srcWorkload: view.workloadByIp(clientIp),
      srcIdentity: req.peerIdentity,
      dstAddr: req.authority,
      dstHboneAddr: hostPort(req.connection.localAddress, req.connection.localPort),
      dstWorkload: undefined,
      dstService: undefined,
      dstIdentity: this.identity,
      mtls: true,
    };
    const started = performance.now();
    const fail = (status: 400 | 401 | 503, reason: string, flags: string): ConnectDecision => {
      this.#deps.recorder.failed(info, {
        bytesSent: 0,
        bytesRecv: 0,
        durationMs: performance.now() - started,
        error: reason,
        responseFlags: flags,
      });
      return { status, reason };
    };
    if (!this.pod.ips.includes(req.host)) {
      return fail(400, `WEFT_NODE_UNKNOWN_WORKLOAD: ${req.host} is not an address of this pod`, 'NR');
    }
    const workload = view.workloadByIp(req.host);
    if (workload === undefined) {
      return fail(503, `WEFT_NODE_UNKNOWN_WORKLOAD: no workload known for ${req.host}`, 'NR');
    }
    info.dstWorkload = workload;
    const attrs = {
      sourceIdentity: req.peerIdentity,
      sourceIp: clientIp,
      destinationIp: req.host,
      destinationPort: req.port,
    };
    const decision = authorize(view, workload, attrs);
    if (!decision.allowed) {
      return fail(
        401,
        `connection closed due to policy rejection: ${decision.reason}${ruleOf(decision)}`,
        'DENY',
      );
    }
    let app: Socket;
    try {
      app = await this.#connectApp(req.host, req.port, clientIp);
    } catch (err) {
      return fail(503, `WEFT_NODE_UPSTREAM_FAILED: ${errorCode(err)} ${errorMessage(err)}`, 'UF');
    }
    const labels = this.#deps.recorder.opened(info);
    const untrack = this.#deps.tracker.add({
      podUid: this.pod.uid,
      workloadUid: workload.uid,
      attrs,
      close: (reason) => {
        closeReason = reason;
        abortStream(app);
      },
    });
    let closeReason: string | undefined;
    return {
      upstream: app,
      onClose: (report) => {
        untrack();
        this.#deps.recorder.closed(info, labels, {
          bytesSent: report.bytesAtoB,
          bytesRecv: report.bytesBtoA,
          durationMs: performance.now() - started,
          error: closeReason ?? (report.error === undefined ? undefined : errorMessage(report.error)),
          responseFlags: closeReason !== undefined ? 'DENY' : report.error === undefined ? '-' : 'UC',
        });
      },
    };
  }

  #onPlaintext(client: Socket): void {
    this.#track(client);
    client.on('error', () => undefined);
    client.pause();
    const view = this.#deps.view;
    const dstIp = client.localAddress ?? '';
    const dstPort = client.localPort ?? 0;
    const clientIp = client.remoteAddress ?? '';
    const info: ConnectionInfo = {
      direction: 'inbound',
      srcAddr: hostPort(clientIp, client.remotePort ?? 0),
      srcWorkload: view.workloadByIp(clientIp),
      srcIdentity: undefined,
      dstAddr: hostPort(dstIp, dstPort),
      dstHboneAddr: undefined,
      dstWorkload: undefined,
      dstService: undefined,
      dstIdentity: this.identity,
      mtls: false,
    };
    const started = performance.now();
    const fail = (reason: string, flags: string) => {
      this.#deps.recorder.failed(info, {
        bytesSent: 0,
        bytesRecv: 0,
        durationMs: performance.now() - started,
        error: reason,
        responseFlags: flags,
      });
      abortStream(client);
    };
    const workload = view.workloadByIp(dstIp);
    if (workload === undefined || !this.pod.ips.includes(dstIp)) {
      fail(`WEFT_NODE_UNKNOWN_WORKLOAD: no workload known for ${dstIp}`, 'NR');
      return;
    }
    info.dstWorkload = workload;
    const attrs = {
      sourceIdentity: undefined,
      sourceIp: clientIp,
      destinationIp: dstIp,
      destinationPort: dstPort,
    };
    const decision = authorize(view, workload, attrs);
    if (!decision.allowed) {
      fail(`connection closed due to policy rejection: ${decision.reason}${ruleOf(decision)}`, 'DENY');
      return;
    }
    this.#connectApp(dstIp, dstPort, clientIp).then(
      (app) => {
        if (client.destroyed) return void app.destroy();
        let closeReason: string | undefined;
        const untrack = this.#deps.tracker.add({
          podUid: this.pod.uid,
          workloadUid: workload.uid,
          attrs,
          close: (reason) => {
            closeReason = reason;
            abortStream(client);
            abortStream(app);
          },
        });
        const labels = this.#deps.recorder.opened(info);
        client.resume();
        void pump(client, app).then((r) => {
          untrack();
          this.#deps.recorder.closed(info, labels, {
            bytesSent: r.bytesAtoB,
            bytesRecv: r.bytesBtoA,
            durationMs: performance.now() - started,
            error: closeReason ?? (r.error === undefined ? undefined : errorMessage(r.error)),
            responseFlags: closeReason !== undefined ? 'DENY' : r.error === undefined ? '-' : 'UC',
          });
        });
      },
      (err: unknown) => fail(`WEFT_NODE_UPSTREAM_FAILED: ${errorCode(err)} ${errorMessage(err)}`, 'UF'),
    );
  }

  stats(): { clients: number; hboneConnections: number } {
    return { clients: this.#clients.size, hboneConnections: this.#hbone?.connectionCount ?? 0 };
  }
}

function ruleOf(d: { policy?: { ruleIndex: number } }): string {
  return d.policy === undefined ? '' : ` (rule ${d.policy.ruleIndex})`;
}

export { spiffeIdOf };
