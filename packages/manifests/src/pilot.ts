/** weft-pilot: its ServiceAccount, RBAC, Service and Deployment. */
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { env, image, POD_ENV, READINESS, RESTRICTED, resources, XDS_TLS_PORT } from './common.js';
import type { InstallOptions } from './options.js';
import { DATAPLANE_MODE, PART_OF } from './types.js';

/** The Secret that holds pilot's self-signed root (in pilot's namespace), and where a plug-in CA is mounted. */
const CA_SECRET = 'weft-ca';
const CACERTS_DIR = '/etc/cacerts';

export const PILOT = 'weft-pilot';
const READ = ['get', 'list', 'watch'];
const WRITE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

function labels(): Record<string, string> {
  return { app: PILOT, 'app.kubernetes.io/name': PILOT, ...PART_OF };
}

/** What pilot reads (config sources), creates (waypoints, root-cert ConfigMaps) and reviews (agent tokens). */
export function pilotClusterRole(): IClusterRole {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: PILOT, labels: labels() },
    rules: [
      { apiGroups: [''], resources: ['namespaces', 'pods', 'nodes'], verbs: READ },
      // Gateway credentials (credentialName) live in Secrets of the gateway's namespace.
      { apiGroups: [''], resources: ['secrets'], verbs: READ },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
      {
        apiGroups: ['security.istio.io'],
        resources: ['authorizationpolicies', 'peerauthentications', 'requestauthentications'],
        verbs: READ,
      },
      { apiGroups: ['networking.istio.io'], resources: ['destinationrules', 'gateways'], verbs: READ },
      { apiGroups: ['gateway.networking.k8s.io'], resources: ['gateways', 'gatewayclasses'], verbs: READ },
      {
        apiGroups: ['gateway.networking.k8s.io'],
        resources: ['gateways/status', 'gatewayclasses/status'],
        verbs: ['update', 'patch'],
      },
      // Waypoints: a ServiceAccount, Deployment and Service per waypoint Gateway.
      { apiGroups: [''], resources: ['services', 'serviceaccounts'], verbs: WRITE },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: WRITE },
      { apiGroups: [''], resources: ['configmaps'], verbs: WRITE },
      { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
    ],
  };
}

/** Waypoint resources as JSON with sorted keys (the same text Helm's toJson produces). */
export function waypointResourcesJson(o: InstallOptions): string {
  const r = o.waypoint.resources;
  return JSON.stringify({
    limits: { memory: r.limits.memory },
    requests: { cpu: r.requests.cpu, memory: r.requests.memory },
  });
}

export function pilotObjects(
  o: InstallOptions,
): [IServiceAccount, IClusterRole, IClusterRoleBinding, IRole, IRoleBinding, IService, IDeployment] {
  const ns = o.namespace;
  const meta = { name: PILOT, namespace: ns, labels: labels() };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta },
    pilotClusterRole(),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: PILOT, labels: labels() },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: PILOT },
      subjects: [{ kind: 'ServiceAccount', name: PILOT, namespace: ns }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta,
      rules: [
        // The self-signed root lives in the Secret weft-ca in pilot's own namespace (like istiod's
        // istio-ca-secret); create cannot be limited by name. A plug-in CA (Secret cacerts) is a volume.
        {
          apiGroups: [''],
          resources: ['secrets'],
          resourceNames: [CA_SECRET],
          verbs: ['get', 'update', 'patch'],
        },
        { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: PILOT },
      subjects: [{ kind: 'ServiceAccount', name: PILOT, namespace: ns }],
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta,
      spec: {
        selector: { app: PILOT },
        ports: [
          { name: 'grpc-xds', port: 15010, targetPort: 15010, protocol: 'TCP' },
          { name: 'tls-xds', port: XDS_TLS_PORT, targetPort: XDS_TLS_PORT, protocol: 'TCP' },
          { name: 'tls-ca', port: 15012, targetPort: 15012, protocol: 'TCP' },
          { name: 'http-metrics', port: 15020, targetPort: 15020, protocol: 'TCP' },
        ],
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta,
      spec: {
        replicas: o.pilot.replicas,
        selector: { matchLabels: { app: PILOT } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: {
          metadata: { labels: { ...labels(), [DATAPLANE_MODE]: 'none' } },
          spec: {
            serviceAccountName: PILOT,
            securityContext: { fsGroup: 1337 },
            containers: [
              {
                name: 'pilot',
                image: image(o),
                imagePullPolicy: o.image.pullPolicy,
                args: ['weft-pilot'],
                env: [
                  ...POD_ENV.filter((e) => e.name === 'POD_NAME' || e.name === 'POD_NAMESPACE'),
                  ...env({
                    // In a cluster pilot reads the Kubernetes API (its --source default there).
                    XDS_TLS_PORT: String(XDS_TLS_PORT),
                    CA_SECRET: `${ns}/${CA_SECRET}`,
                    PLUGIN_CA_DIR: CACERTS_DIR,
                    TRUST_DOMAIN: o.trustDomain,
                    CLUSTER_ID: o.clusterId,
                    ROOT_NAMESPACE: o.rootNamespace,
                    // Istio's name: node agents allowed to request identities of pods on their node.
                    CA_TRUSTED_NODE_ACCOUNTS: `${ns}/weft-node`,
                    LOG_LEVEL: o.logLevel,
                    // What pilot gives the waypoint Deployments it creates (waypointObjects).
                    WAYPOINT_IMAGE: image(o),
                    WAYPOINT_RESOURCES: waypointResourcesJson(o),
                  }),
                ],
                ports: [
                  { name: 'grpc-xds', containerPort: 15010, protocol: 'TCP' },
                  { name: 'tls-xds', containerPort: XDS_TLS_PORT, protocol: 'TCP' },
                  { name: 'tls-ca', containerPort: 15012, protocol: 'TCP' },
                  { name: 'http-metrics', containerPort: 15020, protocol: 'TCP' },
                  { name: 'http-ready', containerPort: 15021, protocol: 'TCP' },
                ],
                readinessProbe: READINESS,
                resources: resources(o.pilot.resources),
                securityContext: RESTRICTED,
                volumeMounts: [
                  { name: 'cacerts', mountPath: CACERTS_DIR, readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              // Istio's plug-in CA: an optional Secret `cacerts` (ca-cert.pem, ca-key.pem, root-cert.pem,
              // cert-chain.pem). Absent → pilot signs with its self-signed root (Secret weft-ca); replaced →
              // pilot reloads it without a restart.
              { name: 'cacerts', secret: { secretName: 'cacerts', optional: true } },
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
      },
    },
  ];
}
