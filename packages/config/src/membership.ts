/** Which Services select a pod, with ports resolved for it: EndpointSlices when present, selectors otherwise. */

import type { AuthorizationPolicy } from '@weft/policy';
import type { ConfigIndex } from './config-index.js';
import type { EndpointSliceInfo, PodInfo, ServiceInfo } from './kube.js';
import { type AppProtocol, type PortMapping, serviceKey } from './model.js';
import type { PodIndex } from './pod-index.js';

/** Everything one namespace's workloads are computed from (identities are stable while unchanged). */
export interface NamespaceInputs {
  readonly info: unknown;
  readonly pods: PodInfo[];
  readonly services: ServiceInfo[];
  readonly slices: EndpointSliceInfo[];
  readonly policies: AuthorizationPolicy[];
}

function appProtocol(p: { name: string; appProtocol?: string }): AppProtocol {
  const a = (p.appProtocol ?? p.name.split('-')[0] ?? '').toLowerCase();
  if (a === 'http' || a === 'http1' || a === 'kubernetes.io/http') return 'HTTP11';
  if (a === 'http2' || a === 'h2c' || a === 'kubernetes.io/h2c') return 'HTTP2';
  if (a === 'grpc') return 'GRPC';
  if (a === 'tcp') return 'TCP';
  if (a === 'tls' || a === 'https') return 'TLS';
  return 'UNKNOWN';
}

export function servicePorts(svc: ServiceInfo, pod: PodInfo | undefined): PortMapping[] {
  return svc.ports
    .filter((p) => p.protocol === 'TCP')
    .map((p) => ({
      servicePort: p.port,
      targetPort: typeof p.targetPort === 'number' ? p.targetPort : (pod?.namedPorts.get(p.targetPort) ?? 0),
      appProtocol: appProtocol(p),
    }));
}

/** Pod → the services of its namespace selecting it, with the ports resolved against that pod. */
export function membership(
  ns: NamespaceInputs,
  index: ConfigIndex,
  pods: PodIndex,
  domain: string,
): Map<string, Map<string, PortMapping[]>> {
  const out = new Map<string, Map<string, PortMapping[]>>();
  const add = (podKey: string, svcKey: string, ports: PortMapping[]) => {
    let m = out.get(podKey);
    if (m === undefined) {
      m = new Map();
      out.set(podKey, m);
    }
    m.set(svcKey, ports);
  };
  const podByIp = new Map<string, PodInfo>();
  for (const p of ns.pods) for (const ip of p.ips) podByIp.set(ip, p);
  const sliced = new Set<string>();
  for (const slice of ns.slices) {
    const svc = index.services.get(`${slice.namespace}/${slice.serviceName}`);
    if (svc === undefined) continue;
    sliced.add(svc.name);
    const key = serviceKey({
      namespace: svc.namespace,
      hostname: `${svc.name}.${svc.namespace}.svc.${domain}`,
    });
    for (const e of slice.endpoints) {
      const pod =
        e.podName !== undefined
          ? index.pods.get(`${slice.namespace}/${e.podName}`)
          : e.addresses.map((a) => podByIp.get(a)).find((p) => p !== undefined);
      if (pod === undefined) continue;
      const ports = svc.ports
        .filter((p) => p.protocol === 'TCP')
        .map((p) => {
          const sp = slice.ports.find((x) => x.name === p.name);
          return {
            servicePort: p.port,
            targetPort: sp?.port ?? (typeof p.targetPort === 'number' ? p.targetPort : 0),
            appProtocol: appProtocol(p),
          };
        });
      add(`${pod.namespace}/${pod.name}`, key, ports);
    }
  }
  // Embedded mode (no EndpointSlices): select pods by the Service's selector.
  for (const svc of ns.services) {
    if (svc.selector === undefined || sliced.has(svc.name)) continue;
    const key = serviceKey({
      namespace: svc.namespace,
      hostname: `${svc.name}.${svc.namespace}.svc.${domain}`,
    });
    for (const pod of pods.select(svc.namespace, svc.selector))
      add(`${pod.namespace}/${pod.name}`, key, servicePorts(svc, pod));
  }
  return out;
}
