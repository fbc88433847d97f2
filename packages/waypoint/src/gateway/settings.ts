/**
 * The gateway part of weft-waypoint's configuration (GATEWAY_MODE and friends). Pure: config.ts hands
 * in its variable lookup; the result is undefined when the process runs as a waypoint.
 */
import { GatewayError, GatewayErrorCode } from './errors.js';
import type { GatewayMode } from './gateway.js';
import type { OutboundTrafficPolicy } from './router.js';

export interface GatewaySettings {
  /** GATEWAY_MODE: ingress | egress (waypoint = not a gateway). */
  readonly mode: GatewayMode;
  /** GATEWAY_PORTS: `443=8443,80=8080`, Gateway port → port to bind (unlisted ports bind as is). */
  readonly portMap: ReadonlyMap<number, number>;
  /** GATEWAY_CREDENTIALS_DIR: `<dir>/<credentialName>/{tls.crt,tls.key,ca.crt}` (before Secrets). */
  readonly credentialsDir: string | undefined;
  /** GATEWAY_CONFIG_DIR: read Gateway/VirtualService/…/Secret YAML from here instead of pilot. */
  readonly configDir: string | undefined;
  /** OUTBOUND_TRAFFIC_POLICY: ALLOW_ANY (default) | REGISTRY_ONLY. */
  readonly outboundTrafficPolicy: OutboundTrafficPolicy;
  /** GATEWAY_LABELS: `k=v,k2=v2`, the gateway pods' labels (default: Istio's for the mode). */
  readonly labels: Readonly<Record<string, string>> | undefined;
  /** GATEWAY_ALPN: protocols offered on terminated TLS (default http/1.1). */
  readonly alpn: readonly string[];
}

export const GATEWAY_FLAGS: Readonly<Record<string, string>> = {
  mode: 'GATEWAY_MODE',
  'gateway-ports': 'GATEWAY_PORTS',
  'credentials-dir': 'GATEWAY_CREDENTIALS_DIR',
  'gateway-config-dir': 'GATEWAY_CONFIG_DIR',
  'outbound-traffic-policy': 'OUTBOUND_TRAFFIC_POLICY',
  'gateway-labels': 'GATEWAY_LABELS',
  'gateway-alpn': 'GATEWAY_ALPN',
};

function bad(message: string): GatewayError {
  return new GatewayError(GatewayErrorCode.BadConfig, message);
}

function pairs(name: string, text: string | undefined): [string, string][] {
  if (text === undefined) return [];
  return text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      if (eq <= 0 || eq === p.length - 1) throw bad(`${name} entries must be key=value (got "${p}")`);
      return [p.slice(0, eq).trim(), p.slice(eq + 1).trim()];
    });
}

function portNumber(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw bad(`${name}: "${v}" is not a port number`);
  return n;
}

export function parseGatewaySettings(get: (name: string) => string | undefined): GatewaySettings | undefined {
  const mode = get('GATEWAY_MODE') ?? 'waypoint';
  if (mode === 'waypoint') return undefined;
  if (mode !== 'ingress' && mode !== 'egress')
    throw bad(`GATEWAY_MODE must be waypoint, ingress or egress (got "${mode}")`);
  const policy = get('OUTBOUND_TRAFFIC_POLICY') ?? 'ALLOW_ANY';
  if (policy !== 'ALLOW_ANY' && policy !== 'REGISTRY_ONLY')
    throw bad(`OUTBOUND_TRAFFIC_POLICY must be ALLOW_ANY or REGISTRY_ONLY (got "${policy}")`);
  const labels = pairs('GATEWAY_LABELS', get('GATEWAY_LABELS'));
  const alpn = (get('GATEWAY_ALPN') ?? 'http/1.1').split(',').map((s) => s.trim());
  if (alpn.some((a) => a !== 'h2' && a !== 'http/1.1'))
    throw bad(`GATEWAY_ALPN lists h2 and/or http/1.1 (got "${alpn.join(',')}")`);
  return {
    mode,
    portMap: new Map(
      pairs('GATEWAY_PORTS', get('GATEWAY_PORTS')).map(([k, v]) => [
        portNumber('GATEWAY_PORTS', k),
        portNumber('GATEWAY_PORTS', v),
      ]),
    ),
    credentialsDir: get('GATEWAY_CREDENTIALS_DIR'),
    configDir: get('GATEWAY_CONFIG_DIR'),
    outboundTrafficPolicy: policy,
    labels: labels.length === 0 ? undefined : Object.fromEntries(labels),
    alpn,
  };
}
