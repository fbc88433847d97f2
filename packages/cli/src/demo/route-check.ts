/**
 * Does Service traffic for a waypoint-enabled Service really go through the waypoint? Sends one request
 * from a pod and reads the source node agent's access log line for it. Without this the L7 steps of
 * the tour would silently bypass the waypoint (no 403, no JWT checks): `demo up` reports it instead.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DemoLayout } from './layout.js';
import { netnsHttpStatus } from './netns-probe.js';

export interface RouteCheck {
  ok: boolean;
  detail: string;
}

/** The newest access-log line of `node`'s agent for a connection from `client` to `host`. */
async function accessLine(
  stateDir: string,
  node: string,
  client: string,
  host: string,
): Promise<Record<string, unknown> | undefined> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const log = await readFile(join(stateDir, 'logs', `${node}.log`), 'utf8').catch(() => '');
    for (const text of log.trimEnd().split('\n').reverse()) {
      if (
        !text.includes('"component":"access"') ||
        !text.includes(host) ||
        !text.includes(`"src.workload":"${client}"`)
      )
        continue;
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch {
        break;
      }
    }
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Is pod traffic captured and carried by the node agents? One request from a pod to a Service without
 * a waypoint must answer 200 and appear in the source node agent's access log.
 */
export async function checkCapture(stateDir: string, layout: DemoLayout): Promise<RouteCheck | undefined> {
  const service = layout.services.find((s) => s.waypoint === undefined && s.port === 80);
  const client = layout.pods.find((p) => p.role === 'app' && p.labels.app !== service?.name);
  if (service === undefined || client === undefined) return undefined;
  const where = `${client.name} → ${service.name}.${service.namespace} (${service.clusterIp})`;
  // Bounded retries: right after start an agent may still be fetching the peer's certificate or state.
  let status: number | undefined;
  let line: Record<string, unknown> | undefined;
  for (let attempt = 0; attempt < 5 && (status !== 200 || line === undefined); attempt++) {
    status = await netnsHttpStatus(client.netns, `http://${service.clusterIp}:${service.port}/get`, 5);
    line = await accessLine(stateDir, client.node, client.name, `${service.name}.${service.namespace}.svc`);
  }
  if (status === 200 && line !== undefined)
    return { ok: true, detail: `${where}: 200, carried by ${client.node}'s weft-node over HBONE` };
  return {
    ok: false,
    detail: `${where} answered ${status ?? 'nothing'}${line === undefined ? ` and ${client.node}'s weft-node logged no connection for it (traffic not captured)` : ''}; see ${join(stateDir, 'logs', `${client.node}.log`)}`,
  };
}

export async function checkWaypointRoute(
  stateDir: string,
  layout: DemoLayout,
): Promise<RouteCheck | undefined> {
  const service = layout.services.find((s) => s.waypoint !== undefined);
  const waypoint = layout.pods.find((p) => p.role === 'waypoint');
  const client =
    layout.pods.find((p) => p.role === 'app' && p.node !== waypoint?.node) ??
    layout.pods.find((p) => p.role === 'app');
  if (service === undefined || waypoint === undefined || client === undefined) return undefined;
  const host = `${service.name}.${service.namespace}.svc.cluster.local`;
  const status = await netnsHttpStatus(client.netns, `http://${service.clusterIp}:${service.port}/get`, 5);
  const line = await accessLine(stateDir, client.node, client.name, host);
  const where = `${client.name} → ${service.name}.${service.namespace} (${service.clusterIp})`;
  if (line === undefined)
    return {
      ok: false,
      detail: `no access-log line for ${where} (HTTP ${status ?? 'no answer'}); cannot tell whether it went through the waypoint`,
    };
  const dst = String(line['dst.addr'] ?? '');
  if (dst.startsWith(`${waypoint.ip}:`))
    return { ok: true, detail: `${where} goes through the waypoint (${dst})` };
  return {
    ok: false,
    detail: `${client.node}'s weft-node sent ${where} straight to ${dst}, not through the waypoint (${waypoint.ip}:15008): L7 policy and JWT steps are not enforced`,
  };
}
