/**
 * The engine's RequestRouter for gateways. Ingress: VirtualService / HTTPRoute by host and path, then
 * the destination's endpoints (404 without a route, 503 for an unknown destination). Egress: the same
 * routes if any bind this gateway, else the request's Host as declared by a ServiceEntry; unknown hosts
 * go to the original destination with ALLOW_ANY (HBONE in only) and get 502 otherwise. Every external endpoint handed out
 * carries the DestinationRule TLS origination for its host and port.
 */

import type { RequestRouter, RouteResult } from '../http-deps.js';
import { UpstreamMessages } from '../http-deps.js';
import type { Endpoint, EndpointIndex, MeshView } from '../mesh-view.js';
import type { RequestHead } from '../pipeline.js';
import type { ConnInfo } from '../telemetry.js';
import { GatewayErrorCode } from './errors.js';
import { type OriginationPlan, originationFor } from './origination.js';
import { resolveUpstream, type Upstream } from './registry.js';
import { hostOfAuthority, matchHttpRoute, pickWeighted, type RouteTable } from './routes.js';

export type OutboundTrafficPolicy = 'ALLOW_ANY' | 'REGISTRY_ONLY';

export interface GatewayRouterOptions {
  readonly mode: 'ingress' | 'egress';
  readonly view: MeshView;
  readonly index: EndpointIndex;
  readonly table: () => RouteTable;
  readonly outboundTrafficPolicy: OutboundTrafficPolicy;
  /**
   * The original destination of a connection that has one (HBONE in: the CONNECT authority), where
   * ALLOW_ANY passes unknown hosts through; connections to a Gateway port have none.
   */
  readonly originalDestination?: (conn: ConnInfo) => { ip: string; port: number } | undefined;
}

export function endpointKey(ep: Pick<Endpoint, 'ip' | 'port' | 'poolKey'>): string {
  return ep.poolKey ?? `${ep.ip}|${ep.port}`;
}

function portOfAuthority(authority: string): number | undefined {
  const m = /:(\d+)$/.exec(authority);
  if (m === null || authority.endsWith(']')) return undefined;
  return Number(m[1]);
}

function stripQuery(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q);
}

export class GatewayRouter implements RequestRouter {
  readonly #o: GatewayRouterOptions;
  /** TLS origination per external endpoint (read by the originating connector). */
  readonly #plans = new Map<string, OriginationPlan>();

  constructor(options: GatewayRouterOptions) {
    this.#o = options;
    options.view.onChange(() => this.#plans.clear());
  }

  planFor(ep: Endpoint): OriginationPlan | undefined {
    return ep.workload === undefined ? this.#plans.get(endpointKey(ep)) : undefined;
  }

  #withPlans(up: Upstream): RouteResult {
    if (up.mesh) return { endpoints: up.endpoints };
    // External endpoints are pooled per destination host: two hosts on one address keep their own TLS.
    const tls = originationFor(this.#o.view.configs.values(), up.host, up.port);
    const endpoints = up.endpoints.map((ep) => ({ ...ep, poolKey: `${up.host}|${ep.ip}|${ep.port}` }));
    for (const ep of endpoints) {
      const key = endpointKey(ep);
      if (tls === undefined) this.#plans.delete(key);
      else this.#plans.set(key, { tls, sni: tls.sni ?? up.host });
    }
    return { endpoints };
  }

  route(conn: ConnInfo, head: RequestHead): RouteResult {
    const table = this.#o.table();
    const dests = matchHttpRoute(table, {
      port: conn.dest.port,
      authority: head.authority,
      method: head.method,
      path: stripQuery(head.path),
      headers: head.headers as Record<string, string | string[] | undefined>,
    });
    if (dests !== undefined) {
      const d = pickWeighted(dests);
      const up =
        d === undefined
          ? undefined
          : resolveUpstream(this.#o.view, this.#o.index, d.host, d.port, d.namespace);
      if (up === undefined) {
        return {
          status: 503,
          body: UpstreamMessages.NoHealthyUpstream,
          reason: `${GatewayErrorCode.NoRoute}: route destination ${d?.host ?? '?'} is neither a Service nor a ServiceEntry host`,
        };
      }
      return this.#withPlans(up);
    }
    if (this.#o.mode === 'ingress') {
      return {
        status: 404,
        body: '',
        reason: `${GatewayErrorCode.NoRoute}: no VirtualService/HTTPRoute on port ${conn.dest.port} matches ${head.authority}${stripQuery(head.path)}`,
      };
    }
    const host = hostOfAuthority(head.authority);
    const port = portOfAuthority(head.authority);
    const up = host === '' ? undefined : resolveUpstream(this.#o.view, this.#o.index, host, port, '');
    if (up !== undefined) return this.#withPlans(up);
    // ALLOW_ANY passes through to where the workload was connecting (like Istio's PassthroughCluster),
    // never to a host named by the request: that would make the gateway an open proxy.
    const original =
      this.#o.outboundTrafficPolicy === 'ALLOW_ANY' ? this.#o.originalDestination?.(conn) : undefined;
    if (original === undefined || host === '') {
      const why =
        this.#o.outboundTrafficPolicy === 'REGISTRY_ONLY'
          ? 'outboundTrafficPolicy is REGISTRY_ONLY'
          : 'the connection has no original destination to pass through to';
      return {
        status: 502,
        body: `${GatewayErrorCode.UnknownHost}: ${host || '(no host)'} is not declared by a ServiceEntry and ${why}`,
        reason: `${GatewayErrorCode.UnknownHost}: ${host}`,
      };
    }
    return this.#withPlans({
      host,
      port: original.port,
      endpoints: [{ workload: undefined, ip: original.ip, port: original.port }],
      mesh: false,
      dest: { ip: original.ip, port: original.port, appProtocol: undefined },
    });
  }
}
