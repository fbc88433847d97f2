/**
 * Where each kind Weft reads lives on the Kubernetes API (collection paths, all namespaces): what pilot
 * lists and watches, and what `weftctl analyze --kubeconfig` lists.
 */

export interface KubeResource {
  /** e.g. `/api/v1/pods`, `/apis/security.istio.io/v1/authorizationpolicies` (all namespaces). */
  readonly path: string;
  readonly apiVersion: string;
  readonly kind: string;
  /** A CRD that may not be installed: a 404 counts as an empty list. */
  readonly optional?: boolean;
}

const core = (plural: string, kind: string): KubeResource => ({
  path: `/api/v1/${plural}`,
  apiVersion: 'v1',
  kind,
});

const crd = (apiVersion: string, kind: string, plural: string): KubeResource => ({
  path: `/apis/${apiVersion}/${plural}`,
  apiVersion,
  kind,
  optional: true,
});

export const KUBE_RESOURCES: readonly KubeResource[] = [
  core('namespaces', 'Namespace'),
  core('nodes', 'Node'),
  core('pods', 'Pod'),
  core('serviceaccounts', 'ServiceAccount'),
  core('services', 'Service'),
  core('secrets', 'Secret'),
  {
    path: '/apis/discovery.k8s.io/v1/endpointslices',
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
  },
  crd('gateway.networking.k8s.io/v1', 'Gateway', 'gateways'),
  crd('gateway.networking.k8s.io/v1', 'HTTPRoute', 'httproutes'),
  crd('networking.istio.io/v1', 'Gateway', 'gateways'),
  crd('networking.istio.io/v1', 'VirtualService', 'virtualservices'),
  crd('networking.istio.io/v1', 'DestinationRule', 'destinationrules'),
  crd('networking.istio.io/v1', 'ServiceEntry', 'serviceentries'),
  crd('security.istio.io/v1', 'AuthorizationPolicy', 'authorizationpolicies'),
  crd('security.istio.io/v1', 'PeerAuthentication', 'peerauthentications'),
  crd('security.istio.io/v1', 'RequestAuthentication', 'requestauthentications'),
];
