/**
 * The objects pilot creates for a waypoint Gateway (`gatewayClassName: istio-waypoint`): a ServiceAccount
 * (the waypoint's identity), a Deployment running weft-waypoint and a Service with the HBONE port. All
 * are owned by the Gateway, so deleting it removes them. Names and labels follow Istio's.
 */
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import {
  env,
  fieldEnv,
  image,
  POD_ENV,
  pilotCaAddress,
  pilotXdsAddress,
  READINESS,
  RESTRICTED,
  ROOT_CERT_DIR,
  resources,
  rootCertVolume,
  TOKEN_DIR,
  tokenVolume,
} from './common.js';
import { ManifestsError, ManifestsErrorCode } from './errors.js';
import type { InstallOptions } from './options.js';
import { DATAPLANE_MODE, PART_OF } from './types.js';

export const WAYPOINT_CLASS = 'istio-waypoint';
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';

/** The fields of a gateway.networking.k8s.io Gateway this reads. */
export interface WaypointGateway {
  apiVersion?: string;
  kind?: 'Gateway';
  metadata: { name: string; namespace: string; uid?: string; labels?: Record<string, string> };
  spec: { gatewayClassName: string; listeners?: { name: string; port: number; protocol: string }[] };
}

export type WaypointOptions = Pick<
  InstallOptions,
  'namespace' | 'image' | 'trustDomain' | 'clusterId' | 'rootNamespace' | 'logLevel' | 'waypoint'
>;

export function isWaypoint(gateway: WaypointGateway): boolean {
  return gateway.spec.gatewayClassName === WAYPOINT_CLASS;
}

export function waypointObjects(
  gateway: WaypointGateway,
  o: WaypointOptions,
): [IServiceAccount, IDeployment, IService] {
  if (!isWaypoint(gateway))
    throw new ManifestsError(
      ManifestsErrorCode.NotWaypoint,
      `Gateway ${gateway.metadata.namespace}/${gateway.metadata.name} has gatewayClassName "${gateway.spec.gatewayClassName}", not ${WAYPOINT_CLASS}`,
    );
  const { name, namespace, uid } = gateway.metadata;
  const selector = { [GATEWAY_NAME_LABEL]: name };
  const labels = {
    ...selector,
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/component': 'waypoint',
    ...PART_OF,
  };
  const ownerReferences =
    uid === undefined
      ? undefined
      : [
          {
            apiVersion: gateway.apiVersion ?? 'gateway.networking.k8s.io/v1',
            kind: 'Gateway',
            name,
            uid,
            controller: true,
          },
        ];
  const meta = { name, namespace, labels, ...(ownerReferences === undefined ? {} : { ownerReferences }) };
  const hbonePort = gateway.spec.listeners?.find((l) => l.protocol === 'HBONE')?.port ?? 15008;
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta,
      spec: {
        selector: { matchLabels: selector },
        template: {
          // The waypoint speaks HBONE itself: it is never captured by weft-node.
          metadata: { labels: { ...labels, [DATAPLANE_MODE]: 'none' } },
          spec: {
            serviceAccountName: name,
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                name: 'waypoint',
                image: image(o),
                imagePullPolicy: o.image.pullPolicy,
                args: ['weft-waypoint'],
                env: [
                  ...POD_ENV,
                  ...fieldEnv({ POD_IP: 'status.podIP' }),
                  ...env({
                    // weft-waypoint's names (GATEWAY_NAME is its fallback for WAYPOINT_NAME).
                    WAYPOINT_NAME: name,
                    HBONE_PORT: String(hbonePort),
                    ROOT_NAMESPACE: o.rootNamespace,
                    XDS_ADDRESS: pilotXdsAddress(o),
                    CA_ADDRESS: pilotCaAddress(o),
                    CA_ROOT_CERT: `${ROOT_CERT_DIR}/root-cert.pem`,
                    TRUST_DOMAIN: o.trustDomain,
                    CLUSTER_ID: o.clusterId,
                    BOOTSTRAP_TOKEN_FILE: `${TOKEN_DIR}/istio-token`,
                    LOG_LEVEL: o.logLevel,
                  }),
                ],
                ports: [
                  { name: 'mesh', containerPort: hbonePort, protocol: 'TCP' },
                  { name: 'http-metrics', containerPort: 15020, protocol: 'TCP' },
                  { name: 'http-ready', containerPort: 15021, protocol: 'TCP' },
                ],
                readinessProbe: READINESS,
                resources: resources(o.waypoint.resources),
                securityContext: RESTRICTED,
                volumeMounts: [
                  { name: 'istio-token', mountPath: TOKEN_DIR, readOnly: true },
                  { name: 'istio-ca-root-cert', mountPath: ROOT_CERT_DIR, readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [tokenVolume(), rootCertVolume(), { name: 'tmp', emptyDir: {} }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta,
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [
          { name: 'mesh', port: hbonePort, targetPort: hbonePort, protocol: 'TCP', appProtocol: 'all' },
          { name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP' },
        ],
      },
    },
  ];
}
