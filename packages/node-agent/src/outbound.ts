/**
 * Outbound (15001): a connection the pod's capture rules REDIRECTed here. SO_ORIGINAL_DST gives where the
 * app was going; routing.ts decides (refuse, plain passthrough, or HBONE to the destination pod or its
 * waypoint); the outbound socket is made in the pod's namespace with SO_MARK 0x539 so the peer sees the pod.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { abortStream, formatHostPort as hostPort, pump } from '@weft/hbone';
import { connectIn, originalDstOf } from '@weft/netns';
import { errorCode, errorMessage } from '@weft/telemetry/errors';
import { AGENT_MARK, connected, type PodContext } from './pod-context.js';
import { routeOutbound } from './routing.js';
import type { ConnectionInfo } from './traffic.js';

function ignoreError(): void {}

/** One connection accepted on 15001 (REDIRECTed from the pod): route it and relay it. */
export function onOutbound(ctx: PodContext, client: Socket): void {
  ctx.track(client);
  // A module-level sink: an inline one would keep this whole scope (route, request…) alive per connection.
  client.on('error', ignoreError);
  const ns = ctx.ns;
  let dst: { address: string; port: number };
  try {
    dst = originalDstOf(client);
  } catch (err) {
    ctx.log.warn({ err: errorMessage(err) }, 'outbound connection without an original destination');
    return void client.destroy();
  }
  const src = ctx.workload();
  const route = routeOutbound(ctx.deps.view, dst.address, dst.port, Math.random, src);
  const info: ConnectionInfo = {
    direction: 'outbound',
    srcAddr: hostPort(client.remoteAddress ?? '', client.remotePort ?? 0),
    srcWorkload: src,
    srcIdentity: ctx.identity,
    dstAddr: hostPort(dst.address, dst.port),
    dstHboneAddr: undefined,
    dstWorkload: route.kind === 'refuse' ? undefined : route.workload,
    dstService: route.service,
    dstIdentity: undefined,
    mtls: route.kind === 'hbone',
  };
  const started = performance.now();
  if (route.kind === 'refuse') {
    ctx.deps.recorder.failed(info, {
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
    upstream.on('error', ignoreError);
    connected(upstream, ctx.deps.connectTimeoutMs ?? 10_000).then(
      (up) => relay(ctx, client, up, info, started),
      (err: unknown) => {
        ctx.deps.recorder.failed(info, {
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
  const pool = ctx.pool;
  client.pause();
  const request = {
    nextHop: { host: route.nextHop.host, port: route.nextHop.port, sourceIp: ctx.pod.ips[0] as string },
    authority: route.authority,
    expectedIdentities: route.expectedIdentities,
    forwardedFor: hostPort(client.remoteAddress ?? '', client.remotePort ?? 0),
    // host= tells the destination which Service was asked for (its metrics), as ztunnel does.
    ...(route.service === undefined ? {} : { forwardedHost: route.service.hostname }),
    baggage: baggageOf(ctx),
  };
  pool
    .open(request)
    // No byte of the client's has been forwarded yet, so a tunnel refused before any answer (the peer
    // agent sent GOAWAY during a handover, or its connection just closed) is retried once on a new one.
    .catch((err: unknown) => {
      if ((err as { status?: number }).status !== undefined || client.destroyed) throw err;
      ctx.log.debug({ err: errorMessage(err) }, 'retrying tunnel open once');
      return pool.open(request);
    })
    .then(
      (tunnel) => {
        info.dstIdentity = tunnel.peerIdentity;
        client.resume();
        relay(ctx, client, tunnel.stream, info, started);
      },
      (err: unknown) => {
        const status = (err as { status?: number }).status;
        ctx.deps.recorder.failed(info, {
          bytesSent: 0,
          bytesRecv: 0,
          durationMs: performance.now() - started,
          error: `${errorCode(err)}: ${errorMessage(err)}${hboneHint(err, route.nextHop.port)}`,
          responseFlags: status === 401 ? 'DENY' : 'CONNECT',
        });
        abortStream(client);
      },
    );
}

function relay(
  ctx: PodContext,
  client: Socket,
  upstream: Duplex,
  info: ConnectionInfo,
  started: number,
): void {
  if (client.destroyed) {
    abortStream(upstream);
    return;
  }
  const labels = ctx.deps.recorder.opened(info);
  // A reset tunnel (RST_STREAM: policy close, upstream failure) resets the client too, even when the
  // stream had already ended cleanly in one direction (the pump would leave the client half-open).
  upstream.once('error', () => abortStream(client));
  void pump(client, upstream).then((r) => {
    ctx.deps.recorder.closed(info, labels, {
      bytesSent: r.bytesAtoB,
      bytesRecv: r.bytesBtoA,
      durationMs: performance.now() - started,
      error: r.error === undefined ? undefined : errorMessage(r.error),
      responseFlags: r.error === undefined ? '-' : 'UC',
    });
  });
}

/** W3C baggage describing the source pod (ztunnel's keys), computed once per pod's workload version. */
const baggageCache = new WeakMap<object, string>();
function baggageOf(ctx: PodContext): string {
  const w = ctx.workload();
  const key = w ?? ctx.pod;
  let b = baggageCache.get(key);
  if (b === undefined) {
    const parts = [
      `k8s.namespace.name=${ctx.pod.namespace}`,
      `k8s.pod.name=${ctx.pod.name}`,
      ...(w === undefined
        ? []
        : [
            `k8s.cluster.name=${w.clusterId}`,
            `service.name=${w.canonicalName}`,
            `service.version=${w.canonicalRevision}`,
          ]),
    ];
    b = parts.map((p) => encodeURI(p)).join(',');
    baggageCache.set(key, b);
  }
  return b;
}

/** The most common HBONE failure in the field: something (a NetworkPolicy, a firewall) blocks port 15008. */
function hboneHint(err: unknown, port: number): string {
  const code = errorCode(err);
  const text = errorMessage(err);
  const unreachable =
    code === 'WEFT_HBONE_CONNECT_TIMEOUT' ||
    (code === 'WEFT_HBONE_CONNECT_FAILED' && /ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|timed out/.test(text));
  return unreachable
    ? ` (could not reach the peer's HBONE port ${port}: is a NetworkPolicy or firewall blocking TCP ${port}?)`
    : '';
}
