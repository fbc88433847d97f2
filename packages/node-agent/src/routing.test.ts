import { describe, expect, it } from 'vitest';
import { routeOutbound } from './routing.js';
import { putServices, putWorkloads, service, workload, XdsStore } from './test-fixtures.js';

function store() {
  const s = new XdsStore();
  const svcKey = 'default/web.default.svc.cluster.local';
  putWorkloads(
    s,
    workload({
      name: 'web-1',
      ip: '10.44.1.10',
      services: { [svcKey]: [{ servicePort: 80, targetPort: 8080, appProtocol: 'TCP' }] },
    }),
    workload({
      name: 'web-2',
      ip: '10.44.2.10',
      services: { [svcKey]: [{ servicePort: 80, targetPort: 8080, appProtocol: 'TCP' }] },
    }),
    workload({ name: 'sick', ip: '10.44.2.11', healthy: false, services: { [svcKey]: [] } }),
    workload({ name: 'legacy', ip: '10.44.2.20', hbone: false }),
    workload({ name: 'wp', ip: '10.44.1.50', sa: 'waypoint' }),
    workload({
      name: 'wp-svc-1',
      ip: '10.44.2.50',
      sa: 'waypoint',
      services: {
        'default/waypoint.default.svc.cluster.local': [
          { servicePort: 15008, targetPort: 15008, appProtocol: 'TCP' },
        ],
      },
    }),
    workload({
      name: 'behind',
      ip: '10.44.2.30',
      waypoint: { address: { network: '', ip: '10.44.1.50' }, hboneMtlsPort: 15008 },
    }),
  );
  putServices(
    s,
    service({ name: 'web', vip: '10.96.0.10', ports: [[80, 8080]] }),
    service({ name: 'empty', vip: '10.96.0.11', ports: [[80, 80]] }),
    service({ name: 'waypoint', vip: '10.96.0.50', ports: [[15008, 15008]] }),
    service({
      name: 'via-vip',
      vip: '10.96.0.13',
      ports: [[80, 80]],
      // How pilot names a waypoint: by its Service VIP, not a pod IP.
      waypoint: { address: { network: '', ip: '10.96.0.50' }, hboneMtlsPort: 15008 },
    }),
    service({
      name: 'waypointed',
      vip: '10.96.0.12',
      ports: [[80, 80]],
      waypoint: { address: { network: '', ip: '10.44.1.50' }, hboneMtlsPort: 15008 },
    }),
  );
  return s;
}

describe('routeOutbound', () => {
  it('refuses the mesh ports (loop guard)', () => {
    for (const port of [15001, 15006, 15008])
      expect(routeOutbound(store(), '10.44.1.10', port).kind).toBe('refuse');
  });

  it('sends a mesh workload over HBONE to podIP:15008 with :authority podIP:port and its identity', () => {
    const r = routeOutbound(store(), '10.44.2.10', 9000);
    expect(r).toMatchObject({
      kind: 'hbone',
      nextHop: { host: '10.44.2.10', port: 15008 },
      authority: '10.44.2.10:9000',
      expectedIdentities: ['spiffe://cluster.local/ns/default/sa/web-2'],
    });
  });

  it('balances a VIP across healthy endpoints only, translating the target port', () => {
    const seen = new Set<string>();
    for (const x of [0, 0.3, 0.6, 0.99]) {
      const r = routeOutbound(store(), '10.96.0.10', 80, () => x);
      expect(r.kind).toBe('hbone');
      if (r.kind === 'hbone') {
        expect(r.authority).toMatch(/:8080$/);
        expect(r.service?.name).toBe('web');
        seen.add(r.nextHop.host);
      }
    }
    expect([...seen].sort()).toEqual(['10.44.1.10', '10.44.2.10']);
  });

  it('fails a known service with no healthy endpoint', () => {
    expect(routeOutbound(store(), '10.96.0.11', 80)).toMatchObject({
      kind: 'refuse',
      code: 'WEFT_NODE_NO_HEALTHY_ENDPOINT',
    });
  });

  it('sends a VIP with a waypoint to the waypoint with :authority VIP:port', () => {
    expect(routeOutbound(store(), '10.96.0.12', 80)).toMatchObject({
      kind: 'hbone',
      nextHop: { host: '10.44.1.50', port: 15008 },
      authority: '10.96.0.12:80',
      expectedIdentities: ['spiffe://cluster.local/ns/default/sa/waypoint'],
    });
  });

  it('sends traffic for a service whose waypoint is named by its Service VIP to a waypoint endpoint', () => {
    expect(routeOutbound(store(), '10.96.0.13', 80)).toMatchObject({
      kind: 'hbone',
      nextHop: { host: '10.44.2.50', port: 15008 },
      authority: '10.96.0.13:80',
      expectedIdentities: ['spiffe://cluster.local/ns/default/sa/waypoint'],
    });
  });

  it('sends a workload with a waypoint to the waypoint', () => {
    expect(routeOutbound(store(), '10.44.2.30', 80)).toMatchObject({
      kind: 'hbone',
      nextHop: { host: '10.44.1.50' },
      authority: '10.44.2.30:80',
    });
  });

  it('passes plain TCP through to non-mesh workloads and unknown destinations', () => {
    expect(routeOutbound(store(), '10.44.2.20', 80)).toMatchObject({
      kind: 'passthrough',
      host: '10.44.2.20',
      port: 80,
    });
    expect(routeOutbound(store(), '192.0.2.1', 443)).toEqual({
      kind: 'passthrough',
      host: '192.0.2.1',
      port: 443,
    });
  });
});
