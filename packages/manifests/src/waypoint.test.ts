import { isWeftError } from '@weft/telemetry/errors';
import { describe, expect, it } from 'vitest';
import { defaultInstallOptions } from './options.js';
import { waypointObjects } from './waypoint.js';

const gateway = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway' as const,
  metadata: { name: 'waypoint', namespace: 'prod', uid: 'u-1', labels: { 'istio.io/waypoint-for': 'all' } },
  spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
};

describe('waypointObjects', () => {
  it('makes an owned ServiceAccount, Deployment and Service in the Gateway’s namespace', () => {
    const [sa, deploy, svc] = waypointObjects(gateway, defaultInstallOptions());
    for (const o of [sa, deploy, svc]) {
      expect(o.metadata).toMatchObject({ name: 'waypoint', namespace: 'prod' });
      expect(o.metadata?.ownerReferences).toEqual([
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'Gateway',
          name: 'waypoint',
          uid: 'u-1',
          controller: true,
        },
      ]);
    }
    const pod = deploy.spec?.template;
    expect(pod?.spec?.serviceAccountName).toBe('waypoint');
    expect(pod?.metadata?.labels?.['istio.io/dataplane-mode']).toBe('none');
    expect(pod?.spec?.containers[0]?.env).toContainEqual({ name: 'WAYPOINT_NAME', value: 'waypoint' });
    expect(pod?.spec?.containers[0]?.env).toContainEqual({ name: 'HBONE_PORT', value: '15008' });
    expect(svc.spec?.selector).toEqual({ 'gateway.networking.k8s.io/gateway-name': 'waypoint' });
    expect(svc.spec?.ports?.[0]).toMatchObject({ name: 'mesh', port: 15008 });
    expect(pod?.spec?.containers[0]?.securityContext?.capabilities).toEqual({ drop: ['ALL'] });
  });

  it('refuses a Gateway of another class', () => {
    let caught: unknown;
    try {
      waypointObjects({ ...gateway, spec: { gatewayClassName: 'istio' } }, defaultInstallOptions());
    } catch (err) {
      caught = err;
    }
    expect(isWeftError(caught, 'WEFT_MANIFESTS_NOT_WAYPOINT')).toBe(true);
  });
});
