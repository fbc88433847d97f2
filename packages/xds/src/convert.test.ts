import type { Authorization, Service, Workload } from '@weft/config';
import { describe, expect, it } from 'vitest';
import {
  decodeAddress,
  decodeAuthorization,
  decodeConfig,
  encodeAddress,
  encodeAuthorization,
  encodeConfig,
} from './convert.js';
import { XdsDecodeError } from './errors.js';
import { AddressMsg } from './index.js';
import { bytesToIp, ipToBytes } from './ip.js';

const workload: Workload = {
  uid: 'Kubernetes//Pod/prod/orders-1',
  name: 'orders-1',
  namespace: 'prod',
  addresses: ['10.44.1.10', 'fd00::a'],
  network: '',
  tunnelProtocol: 'HBONE',
  trustDomain: 'cluster.local',
  serviceAccount: 'orders',
  waypoint: {
    hostname: { namespace: 'prod', hostname: 'waypoint.prod.svc.cluster.local' },
    hboneMtlsPort: 15008,
  },
  node: 'node1',
  canonicalName: 'orders',
  canonicalRevision: 'v1',
  workloadType: 'POD',
  workloadName: 'orders-1',
  services: {
    'prod/orders.prod.svc.cluster.local': [{ servicePort: 80, targetPort: 8080, appProtocol: 'HTTP11' }],
  },
  authorizationPolicies: ['prod/allow-web'],
  status: 'HEALTHY',
  clusterId: 'Kubernetes',
  netns: 'weft-pod-orders',
};

const service: Service = {
  name: 'orders',
  namespace: 'prod',
  hostname: 'orders.prod.svc.cluster.local',
  addresses: [{ network: '', ip: '10.96.0.10' }],
  ports: [{ servicePort: 80, targetPort: 8080, appProtocol: 'UNKNOWN' }],
  subjectAltNames: [],
  waypoint: { address: { network: '', ip: '10.96.0.99' }, hboneMtlsPort: 15008 },
  ingressUseWaypoint: false,
};

const authorization: Authorization = {
  name: 'allow-web',
  namespace: 'prod',
  scope: 'WORKLOAD_SELECTOR',
  action: 'ALLOW',
  dryRun: false,
  rules: [
    {
      clauses: [
        {
          matches: [
            {
              namespaces: [{ exact: 'prod' }],
              notNamespaces: [],
              serviceAccounts: [{ namespace: 'prod', serviceAccount: 'web' }],
              notServiceAccounts: [],
              principals: [{ prefix: 'cluster.local/ns/prod/' }, { presence: {} }],
              notPrincipals: [{ suffix: '/sa/default' }],
              sourceIps: [{ address: new Uint8Array([10, 44, 0, 0]), length: 16 }],
              notSourceIps: [],
              destinationIps: [],
              notDestinationIps: [],
              destinationPorts: [8080],
              notDestinationPorts: [9090],
            },
          ],
        },
      ],
    },
  ],
};

describe('node ids', () => {
  it("look like ztunnel's", async () => {
    const { nodeId } = await import('./types.js');
    expect(nodeId('ztunnel', '10.0.0.5', 'weft-node-x', 'weft-system')).toBe(
      'ztunnel~10.0.0.5~weft-node-x.weft-system~weft-system.svc.cluster.local',
    );
  });
});

describe('wire conversion', () => {
  it.each([
    ['10.1.2.3', [10, 1, 2, 3]],
    ['::1', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
    ['fd00::a', [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a]],
    ['::ffff:1.2.3.4', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]],
  ])('IP %s ⇄ bytes', (ip, bytes) => {
    expect([...ipToBytes(ip)]).toEqual(bytes);
    if (!ip.includes('.') || ip.split('.').length === 4)
      expect(bytesToIp(ipToBytes(ip))).toBe(ip.includes('ffff') ? '::ffff:102:304' : ip);
  });

  it('round-trips a workload, a service, an authorization and a config object', () => {
    expect(decodeAddress(encodeAddress.workload(workload))).toEqual({ kind: 'workload', workload });
    expect(decodeAddress(encodeAddress.service(service))).toEqual({ kind: 'service', service });
    expect(decodeAuthorization(encodeAuthorization(authorization))).toEqual(authorization);
    const config = {
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: 'ns',
      name: 'cred',
      object: { data: { a: 'b' } },
    };
    expect(decodeConfig(encodeConfig(config))).toEqual(config);
  });

  it('uses Istio field numbers: Address.workload=1, Workload.uid=20, node=9', () => {
    const bytes = encodeAddress.workload(workload);
    expect(bytes[0]).toBe((1 << 3) | 2); // field 1, length-delimited
    const decoded = AddressMsg.decode(bytes);
    expect(decoded.type?.$case).toBe('workload');
  });

  it('rejects garbage and malformed resources with WEFT_XDS_BAD_RESOURCE', () => {
    expect(() => decodeAddress(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(XdsDecodeError);
    expect(() => decodeAddress(AddressMsg.encode({ type: undefined }).finish())).toThrow(/neither/);
    expect(() => decodeConfig(encodeConfig({ ...workloadConfig(), object: [] as never }))).toThrow(
      /not an object/,
    );
  });
});

function workloadConfig() {
  return { apiVersion: 'v1', kind: 'Pod', namespace: 'prod', name: 'x', object: {} };
}
