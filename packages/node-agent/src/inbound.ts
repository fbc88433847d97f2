/**
 * Inbound: HBONE on 15008 (mutual TLS; identity from the client certificate) and plaintext on 15006 (TPROXY;
 * no identity, so only where PeerAuthentication is PERMISSIVE). Both authorize at the destination, then
 * connect to the app inside the pod from the original client's IP (IP_TRANSPARENT); the connection is
 * tracked so a policy change can close it.
 */
import type { Socket } from 'node:net';
import {
  abortStream,
  type ConnectDecision,
  type ConnectRequest,
  formatHostPort as hostPort,
  pump,
  type TunnelReport,
} from '@weft/hbone';
import { connectIn } from '@weft/netns';
import type { IstioTrafficLabels } from '@weft/telemetry';
import { errorCode, errorMessage } from '@weft/telemetry/errors';
import { authorize, type InboundAttributes } from './authz.js';
import type { TrackedConnection } from './connections.js';
import { AGENT_MARK, connected, type PodContext } from './pod-context.js';
import type { ConnectionInfo } from './traffic.js';

/** Connects to the app inside the pod from the original client address (IP_TRANSPARENT). */
function connectApp(ctx: PodContext, host: string, port: number, clientIp: string): Promise<Socket> {
  const ns = ctx.ns;
  const local = ctx.pod.ips.includes(clientIp) ? undefined : clientIp;
  const socket = connectIn(ns, {
    host,
    port,
    mark: AGENT_MARK,
    ...(local === undefined ? {} : { localAddress: local, transparent: true }),
  });
  return connected(socket, ctx.deps.connectTimeoutMs ?? 10_000);
}

/** One CONNECT on 15008: identity from the client certificate, authorize, then connect to the app. */
export async function inboundHbone(ctx: PodContext, req: ConnectRequest): Promise<ConnectDecision> {
  const view = ctx.deps.view;
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
    dstIdentity: ctx.identity,
    mtls: true,
  };
  const started = performance.now();
  if (!ctx.pod.ips.includes(req.host)) {
    return refused(
      ctx,
      info,
      started,
      400,
      `WEFT_NODE_UNKNOWN_WORKLOAD: ${req.host} is not an address of this pod`,
      'NR',
    );
  }
  const workload = view.workloadByIp(req.host);
  if (workload === undefined) {
    return refused(
      ctx,
      info,
      started,
      503,
      `WEFT_NODE_UNKNOWN_WORKLOAD: no workload known for ${req.host}`,
      'NR',
    );
  }
  info.dstWorkload = workload;
  const attrs = {
    sourceIdentity: req.peerIdentity,
    sourceIp: clientIp,
    destinationIp: req.host,
    destinationPort: req.port,
  };
  const decision = authorize(view, workload, attrs);
  logDryRun(ctx, decision, attrs);
  if (!decision.allowed) {
    return refused(
      ctx,
      info,
      started,
      401,
      `connection closed due to policy rejection: ${decision.reason}${ruleOf(decision)}`,
      'DENY',
    );
  }
  let app: Socket;
  try {
    app = await connectApp(ctx, req.host, req.port, clientIp);
  } catch (err) {
    return refused(
      ctx,
      info,
      started,
      503,
      `WEFT_NODE_UPSTREAM_FAILED: ${errorCode(err)} ${errorMessage(err)}`,
      'UF',
    );
  }
  const tunnel = new InboundTunnel(
    ctx,
    info,
    ctx.deps.recorder.opened(info),
    started,
    workload.uid,
    attrs,
    app,
  );
  return { upstream: app, onClose: tunnel.finished.bind(tunnel) };
}

/**
 * One open inbound HBONE tunnel: tracked so a policy change can close it, recorded when it ends. A class
 * (methods on its prototype) so that an open tunnel holds one small object instead of a closure scope.
 */
class InboundTunnel implements TrackedConnection {
  readonly podUid: string;
  readonly untrack: () => void;
  closeReason: string | undefined = undefined;

  constructor(
    readonly ctx: PodContext,
    readonly info: ConnectionInfo,
    readonly labels: IstioTrafficLabels,
    readonly started: number,
    readonly workloadUid: string,
    readonly attrs: InboundAttributes,
    readonly app: Socket,
  ) {
    this.podUid = ctx.pod.uid;
    this.untrack = ctx.deps.tracker.add(this);
  }

  close(reason: string): void {
    this.closeReason = reason;
    abortStream(this.app);
  }

  finished(report: TunnelReport): void {
    this.untrack();
    const closeReason = this.closeReason;
    this.ctx.deps.recorder.closed(this.info, this.labels, {
      bytesSent: report.bytesAtoB,
      bytesRecv: report.bytesBtoA,
      durationMs: performance.now() - this.started,
      error: closeReason ?? (report.error === undefined ? undefined : errorMessage(report.error)),
      responseFlags: closeReason !== undefined ? 'DENY' : report.error === undefined ? '-' : 'UC',
    });
  }
}

/** Records a CONNECT refused before any tunnel opened; the answer for the HBONE server. */
function refused(
  ctx: PodContext,
  info: ConnectionInfo,
  started: number,
  status: 400 | 401 | 503,
  reason: string,
  flags: string,
): ConnectDecision {
  ctx.deps.recorder.failed(info, {
    bytesSent: 0,
    bytesRecv: 0,
    durationMs: performance.now() - started,
    error: reason,
    responseFlags: flags,
  });
  return { status, reason };
}

/** Records a plaintext connection refused before it was relayed, and resets it. */
function refusePlaintext(
  ctx: PodContext,
  client: Socket,
  info: ConnectionInfo,
  started: number,
  reason: string,
  flags: string,
): void {
  refused(ctx, info, started, 503, reason, flags);
  abortStream(client);
}

function ignoreError(): void {}

/** One plaintext connection TPROXYed to 15006: authorized with no identity (PERMISSIVE only). */
export function onPlaintext(ctx: PodContext, client: Socket): void {
  ctx.track(client);
  client.on('error', ignoreError);
  client.pause();
  const view = ctx.deps.view;
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
    dstIdentity: ctx.identity,
    mtls: false,
  };
  const started = performance.now();
  const workload = view.workloadByIp(dstIp);
  if (workload === undefined || !ctx.pod.ips.includes(dstIp)) {
    refusePlaintext(
      ctx,
      client,
      info,
      started,
      `WEFT_NODE_UNKNOWN_WORKLOAD: no workload known for ${dstIp}`,
      'NR',
    );
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
  logDryRun(ctx, decision, attrs);
  if (!decision.allowed) {
    refusePlaintext(
      ctx,
      client,
      info,
      started,
      `connection closed due to policy rejection: ${decision.reason}${ruleOf(decision)}`,
      'DENY',
    );
    return;
  }
  connectApp(ctx, dstIp, dstPort, clientIp).then(
    (app) => {
      if (client.destroyed) return void app.destroy();
      let closeReason: string | undefined;
      const untrack = ctx.deps.tracker.add({
        podUid: ctx.pod.uid,
        workloadUid: workload.uid,
        attrs,
        close: (reason) => {
          closeReason = reason;
          abortStream(client);
          abortStream(app);
        },
      });
      const labels = ctx.deps.recorder.opened(info);
      client.resume();
      void pump(client, app).then((r) => {
        untrack();
        ctx.deps.recorder.closed(info, labels, {
          bytesSent: r.bytesAtoB,
          bytesRecv: r.bytesBtoA,
          durationMs: performance.now() - started,
          error: closeReason ?? (r.error === undefined ? undefined : errorMessage(r.error)),
          responseFlags: closeReason !== undefined ? 'DENY' : r.error === undefined ? '-' : 'UC',
        });
      });
    },
    (err: unknown) =>
      refusePlaintext(
        ctx,
        client,
        info,
        started,
        `WEFT_NODE_UPSTREAM_FAILED: ${errorCode(err)} ${errorMessage(err)}`,
        'UF',
      ),
  );
}

function ruleOf(d: { policy?: { ruleIndex: number } }): string {
  return d.policy === undefined ? '' : ` (rule ${d.policy.ruleIndex})`;
}

/** Dry-run policies (istio.io/dry-run) are evaluated and reported, never enforced. */
function logDryRun(
  ctx: PodContext,
  d: { dryRunMatches: readonly { policy: string; action: string; ruleIndex: number }[] },
  attrs: {
    sourceIdentity: string | undefined;
    sourceIp: string;
    destinationIp: string;
    destinationPort: number;
  },
): void {
  if (d.dryRunMatches.length === 0) return;
  ctx.log.info({ dryRun: d.dryRunMatches, ...attrs }, 'dry-run policy matched (not enforced)');
}
