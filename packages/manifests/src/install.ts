/** Everything `weftctl install` applies, in apply order, grouped by the file it is committed in. */
import { gatewayApiCrds, istioCrds } from './crds.js';
import { nodeObjects } from './node.js';
import { type InstallOptions, validateOptions } from './options.js';
import { pilotObjects } from './pilot.js';
import type { IGatewayClass, INamespace, KubeObject } from './types.js';
import { PART_OF } from './types.js';
import { WAYPOINT_CLASS } from './waypoint.js';

export interface ManifestGroup {
  /** File name in deploy/kubernetes (and the Helm chart's template). */
  file: string;
  objects: KubeObject[];
}

export function waypointGatewayClass(): IGatewayClass {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'GatewayClass',
    metadata: { name: WAYPOINT_CLASS, labels: { ...PART_OF } },
    // Istio's controller name for waypoints, so Gateways written for Istio are accepted unchanged.
    spec: {
      controllerName: 'istio.io/mesh-controller',
      description: 'Weft waypoint proxies (weft-waypoint)',
    },
  };
}

export function renderInstallGroups(o: InstallOptions): ManifestGroup[] {
  validateOptions(o);
  const namespace: INamespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: o.namespace, labels: { ...PART_OF } },
  };
  const groups: ManifestGroup[] = [
    {
      file: 'crds.yaml',
      objects: [...(o.crds.istio ? istioCrds() : []), ...(o.crds.gatewayApi ? gatewayApiCrds() : [])],
    },
    { file: 'namespace.yaml', objects: [namespace] },
    { file: 'pilot.yaml', objects: pilotObjects(o) },
    { file: 'weft-node.yaml', objects: nodeObjects(o) },
    { file: 'gatewayclass.yaml', objects: [waypointGatewayClass()] },
  ];
  return groups.filter((g) => g.objects.length > 0);
}

export function renderInstall(o: InstallOptions): KubeObject[] {
  return renderInstallGroups(o).flatMap((g) => g.objects);
}
