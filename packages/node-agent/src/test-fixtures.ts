/** Builders for discovery objects in tests (not exported from the package). */
import type { Authorization, PortMapping, Service, Workload } from '@weft/config';
import { TYPE_ADDRESS, TYPE_AUTHORIZATION, XdsStore } from '@weft/xds';

export function workload(p: {
  name: string;
  namespace?: string;
  ip: string;
  sa?: string;
  node?: string;
  hbone?: boolean;
  services?: Record<string, PortMapping[]>;
  policies?: string[];
  healthy?: boolean;
  waypoint?: Workload['waypoint'];
}): Workload {
  const namespace = p.namespace ?? 'default';
  return {
    uid: `Kubernetes//Pod/${namespace}/${p.name}`,
    name: p.name,
    namespace,
    addresses: [p.ip],
    network: '',
    tunnelProtocol: p.hbone === false ? 'NONE' : 'HBONE',
    trustDomain: 'cluster.local',
    serviceAccount: p.sa ?? p.name,
    node: p.node ?? 'node1',
    canonicalName: p.name,
    canonicalRevision: 'latest',
    workloadType: 'POD',
    workloadName: p.name,
    services: p.services ?? {},
    authorizationPolicies: p.policies ?? [],
    status: p.healthy === false ? 'UNHEALTHY' : 'HEALTHY',
    clusterId: 'Kubernetes',
    ...(p.waypoint === undefined ? {} : { waypoint: p.waypoint }),
  };
}

export function service(p: {
  name: string;
  namespace?: string;
  vip: string;
  ports: [number, number][];
  waypoint?: Service['waypoint'];
}): Service {
  const namespace = p.namespace ?? 'default';
  return {
    name: p.name,
    namespace,
    hostname: `${p.name}.${namespace}.svc.cluster.local`,
    addresses: [{ network: '', ip: p.vip }],
    ports: p.ports.map(([servicePort, targetPort]) => ({
      servicePort,
      targetPort,
      appProtocol: 'TCP' as const,
    })),
    subjectAltNames: [],
    ingressUseWaypoint: false,
    ...(p.waypoint === undefined ? {} : { waypoint: p.waypoint }),
  };
}

export function putWorkloads(store: XdsStore, ...ws: Workload[]): void {
  store.apply(
    TYPE_ADDRESS,
    ws.map((w) => ({
      name: w.uid,
      version: '1',
      resource: { typeUrl: TYPE_ADDRESS, value: { kind: 'workload', workload: w } },
    })),
    [],
  );
}

export function putServices(store: XdsStore, ...ss: Service[]): void {
  store.apply(
    TYPE_ADDRESS,
    ss.map((s) => ({
      name: `${s.namespace}/${s.hostname}`,
      version: '1',
      resource: { typeUrl: TYPE_ADDRESS, value: { kind: 'service', service: s } },
    })),
    [],
  );
}

export function putPolicies(store: XdsStore, ...ps: Authorization[]): void {
  store.apply(
    TYPE_AUTHORIZATION,
    ps.map((a) => ({
      name: `${a.namespace}/${a.name}`,
      version: String(Date.now()),
      resource: { typeUrl: TYPE_AUTHORIZATION, value: a },
    })),
    [],
  );
}

export function removePolicies(store: XdsStore, ...keys: string[]): void {
  store.apply(TYPE_AUTHORIZATION, [], keys);
}

const none = {
  namespaces: [],
  notNamespaces: [],
  serviceAccounts: [],
  notServiceAccounts: [],
  principals: [],
  notPrincipals: [],
  sourceIps: [],
  notSourceIps: [],
  destinationIps: [],
  notDestinationIps: [],
  destinationPorts: [],
  notDestinationPorts: [],
};

/** An L4 policy with one rule of one clause of one match (fields as given). */
export function policy(p: {
  name: string;
  namespace?: string;
  action: 'ALLOW' | 'DENY';
  scope?: Authorization['scope'];
  principals?: string[];
  ports?: number[];
  notPrincipalsPresence?: boolean;
  /** `spec: {}` — an ALLOW with no rules. */
  noRules?: boolean;
}): Authorization {
  return {
    name: p.name,
    namespace: p.namespace ?? 'default',
    scope: p.scope ?? 'NAMESPACE',
    action: p.action,
    dryRun: false,
    rules: p.noRules
      ? []
      : [
          {
            clauses: [
              {
                matches: [
                  {
                    ...none,
                    principals: (p.principals ?? []).map((exact) => ({ exact })),
                    notPrincipals: p.notPrincipalsPresence ? [{ presence: {} as Record<string, never> }] : [],
                    destinationPorts: p.ports ?? [],
                  },
                ],
              },
            ],
          },
        ],
  };
}

export { XdsStore };
