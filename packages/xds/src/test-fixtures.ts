// Shared by this package's tests (not exported from index.ts).
import type { Workload } from '@weft/config';

/** A workload with every field set (IPv4 and IPv6, two services, policies, unhealthy). */
export const fullWorkload: Workload = {
  uid: 'Kubernetes//Pod/prod/orders-0',
  name: 'orders-0',
  namespace: 'prod',
  addresses: ['10.44.1.10', 'fd00::a'],
  network: 'net1',
  tunnelProtocol: 'HBONE',
  trustDomain: 'example.org',
  serviceAccount: 'orders',
  node: 'node1',
  canonicalName: 'orders',
  canonicalRevision: 'v1',
  workloadType: 'DEPLOYMENT',
  workloadName: 'orders',
  services: {
    'prod/orders.prod.svc.cluster.local': [
      { servicePort: 80, targetPort: 8080, appProtocol: 'HTTP11' },
      { servicePort: 443, targetPort: 8443, appProtocol: 'TLS' },
    ],
    'prod/other.prod.svc.cluster.local': [],
  },
  authorizationPolicies: ['prod/a', 'istio-system/b'],
  status: 'UNHEALTHY',
  clusterId: 'Kubernetes',
};
