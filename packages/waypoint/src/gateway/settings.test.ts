import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config.js';
import { parseGatewaySettings } from './settings.js';

const from = (env: Record<string, string>) => (name: string) => env[name];

describe('parseGatewaySettings', () => {
  it('is undefined for a waypoint', () => {
    expect(parseGatewaySettings(from({}))).toBeUndefined();
    expect(parseGatewaySettings(from({ GATEWAY_MODE: 'waypoint' }))).toBeUndefined();
  });

  it('reads every gateway setting', () => {
    const s = parseGatewaySettings(
      from({
        GATEWAY_MODE: 'egress',
        GATEWAY_PORTS: '443=8443, 80=8080',
        GATEWAY_CREDENTIALS_DIR: '/etc/istio/gateway-certs',
        GATEWAY_CONFIG_DIR: '/etc/weft/config',
        OUTBOUND_TRAFFIC_POLICY: 'REGISTRY_ONLY',
        GATEWAY_LABELS: 'istio=egressgateway,app=egress',
        GATEWAY_ALPN: 'h2,http/1.1',
      }),
    );
    expect(s).toEqual({
      mode: 'egress',
      portMap: new Map([
        [443, 8443],
        [80, 8080],
      ]),
      credentialsDir: '/etc/istio/gateway-certs',
      configDir: '/etc/weft/config',
      outboundTrafficPolicy: 'REGISTRY_ONLY',
      labels: { istio: 'egressgateway', app: 'egress' },
      alpn: ['h2', 'http/1.1'],
    });
  });

  it.each([
    [{ GATEWAY_MODE: 'sidecar' }, /GATEWAY_MODE/],
    [{ GATEWAY_MODE: 'ingress', GATEWAY_PORTS: '443' }, /GATEWAY_PORTS/],
    [{ GATEWAY_MODE: 'ingress', GATEWAY_PORTS: '443=99999' }, /not a port/],
    [{ GATEWAY_MODE: 'egress', OUTBOUND_TRAFFIC_POLICY: 'OPEN' }, /OUTBOUND_TRAFFIC_POLICY/],
    [{ GATEWAY_MODE: 'ingress', GATEWAY_ALPN: 'spdy' }, /GATEWAY_ALPN/],
  ])('%j is refused', (env, re) => {
    expect(() => parseGatewaySettings(from(env))).toThrow(re);
  });

  it('weft-waypoint --mode ingress sets gateway mode through the process config', () => {
    const c = parseConfig({ CERT_DIR: '/x' }, ['--mode', 'ingress', '--gateway-ports', '443=8443']);
    expect(c.gateway?.mode).toBe('ingress');
    expect(c.gateway?.portMap.get(443)).toBe(8443);
    expect(parseConfig({ CERT_DIR: '/x' }).gateway).toBeUndefined();
    expect(() => parseConfig({ CERT_DIR: '/x', GATEWAY_MODE: 'bogus' })).toThrow(
      /WEFT_GATEWAY_BAD_CONFIG|GATEWAY_MODE/,
    );
  });
});
