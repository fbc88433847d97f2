/**
 * CustomResourceDefinitions for the Istio and Gateway API kinds Weft reads, under their own groups and
 * versions so Istio YAML applies unchanged. The schemas keep `spec` open (x-kubernetes-preserve-unknown-
 * fields): pilot validates with @weft/policy and reports bad objects with their location, which is more
 * useful than a rejected apply, and an Istio field Weft does not know yet must not make the apply fail.
 */
import type { ICustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { PART_OF } from './types.js';

interface CrdSpec {
  group: string;
  kind: string;
  plural: string;
  shortNames?: string[];
  /** First is the storage version. */
  versions: string[];
  categories: string[];
  columns?: { name: string; type: string; jsonPath: string; description: string }[];
  scope?: 'Namespaced' | 'Cluster';
}

const OPEN = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } as const;

function crd(s: CrdSpec): ICustomResourceDefinition {
  const columns = [
    ...(s.columns ?? []),
    {
      name: 'Age',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
      description: 'Time since creation.',
    },
  ];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${s.plural}.${s.group}`, labels: { ...PART_OF } },
    spec: {
      group: s.group,
      names: {
        kind: s.kind,
        listKind: `${s.kind}List`,
        plural: s.plural,
        singular: s.kind.toLowerCase(),
        categories: s.categories,
        ...(s.shortNames === undefined ? {} : { shortNames: s.shortNames }),
      },
      scope: s.scope ?? 'Namespaced',
      versions: s.versions.map((name, i) => ({
        name,
        served: true,
        storage: i === 0,
        subresources: { status: {} },
        additionalPrinterColumns: columns,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: OPEN, status: OPEN },
          },
        },
      })),
    },
  };
}

const ISTIO_SECURITY = ['v1', 'v1beta1'];
const ISTIO_NETWORKING = ['v1', 'v1beta1', 'v1alpha3'];

export function istioCrds(): ICustomResourceDefinition[] {
  const security = ['istio-io', 'security-istio-io'];
  const networking = ['istio-io', 'networking-istio-io'];
  return [
    crd({
      group: 'security.istio.io',
      kind: 'AuthorizationPolicy',
      plural: 'authorizationpolicies',
      shortNames: ['ap'],
      versions: ISTIO_SECURITY,
      categories: security,
      columns: [
        { name: 'Action', type: 'string', jsonPath: '.spec.action', description: 'The operation to take.' },
      ],
    }),
    crd({
      group: 'security.istio.io',
      kind: 'PeerAuthentication',
      plural: 'peerauthentications',
      shortNames: ['pa'],
      versions: ISTIO_SECURITY,
      categories: security,
      columns: [
        { name: 'Mode', type: 'string', jsonPath: '.spec.mtls.mode', description: 'Defines the mTLS mode.' },
      ],
    }),
    crd({
      group: 'security.istio.io',
      kind: 'RequestAuthentication',
      plural: 'requestauthentications',
      shortNames: ['ra'],
      versions: ISTIO_SECURITY,
      categories: security,
    }),
    crd({
      group: 'networking.istio.io',
      kind: 'DestinationRule',
      plural: 'destinationrules',
      shortNames: ['dr'],
      versions: ISTIO_NETWORKING,
      categories: networking,
      columns: [
        { name: 'Host', type: 'string', jsonPath: '.spec.host', description: 'The destination host.' },
      ],
    }),
    crd({
      group: 'networking.istio.io',
      kind: 'Gateway',
      plural: 'gateways',
      shortNames: ['gw'],
      versions: ISTIO_NETWORKING,
      categories: networking,
    }),
  ];
}

/** The Gateway API subset Weft uses (waypoints and their class). Skip when the cluster has the real CRDs. */
export function gatewayApiCrds(): ICustomResourceDefinition[] {
  const categories = ['gateway-api'];
  return [
    crd({
      group: 'gateway.networking.k8s.io',
      kind: 'GatewayClass',
      plural: 'gatewayclasses',
      shortNames: ['gc'],
      versions: ['v1', 'v1beta1'],
      categories,
      scope: 'Cluster',
      columns: [
        {
          name: 'Controller',
          type: 'string',
          jsonPath: '.spec.controllerName',
          description: 'The controller.',
        },
      ],
    }),
    crd({
      group: 'gateway.networking.k8s.io',
      kind: 'Gateway',
      plural: 'gateways',
      shortNames: ['gtw'],
      versions: ['v1', 'v1beta1'],
      categories,
      columns: [
        { name: 'Class', type: 'string', jsonPath: '.spec.gatewayClassName', description: 'The class.' },
      ],
    }),
  ];
}
