/**
 * weft-node: the per-node agent DaemonSet, with weft-cni's install step as its init container.
 *
 * Privileges, and why each is needed (a test keeps this list exact):
 * - NET_ADMIN: iptables/ip rules inside each pod's netns, SO_MARK, IP_TRANSPARENT.
 * - SYS_ADMIN: setns() into pod network namespaces.
 * - NET_RAW: iptables-legacy and transparent sockets open raw sockets.
 * - root (uid 0) with only those capabilities; not privileged; no hostPID/hostNetwork/hostIPC: pods are
 *   reached through their netns files (/var/run/netns, mounted HostToContainer), not through /proc.
 * - hostPath /var/run/weft: the lifecycle socket weft-cni (on the host) connects to, and its log.
 * - the weft-cni containers (the init container `install-cni` and `cni`, which keeps the plugin chained)
 *   alone mount the node's CNI bin and config directories, and run as root without any capability
 *   (the directories are root-owned).
 */
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import {
  env,
  image,
  POD_ENV,
  pilotCaAddress,
  pilotXdsAddress,
  READINESS,
  ROOT_CERT_DIR,
  resources,
  rootCertVolume,
  TOKEN_DIR,
  tokenVolume,
} from './common.js';
import type { InstallOptions } from './options.js';
import { DATAPLANE_MODE, PART_OF } from './types.js';

export const NODE = 'weft-node';
export const NODE_CAPABILITIES = ['NET_ADMIN', 'SYS_ADMIN', 'NET_RAW'] as const;
export const SOCKET_DIR = '/var/run/weft';

function labels(): Record<string, string> {
  return { app: NODE, 'app.kubernetes.io/name': NODE, ...PART_OF };
}

/** Only what weft-cni's lookups need (it runs on the host with this ServiceAccount's token). */
export function nodeClusterRole(): IClusterRole {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: NODE, labels: labels() },
    rules: [
      { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['get'] },
      { apiGroups: ['security.istio.io'], resources: ['peerauthentications'], verbs: ['list'] },
    ],
  };
}

/** weft-cni's install step: no capabilities, only the node's CNI directories. */
function cniContainer(
  o: InstallOptions,
  name: string,
  exclude: readonly string[],
  watch: boolean,
): IContainer {
  return {
    name,
    image: image(o),
    imagePullPolicy: o.image.pullPolicy,
    args: [
      'weft-cni',
      'install',
      '--cni-bin-dir=/host/opt/cni/bin',
      '--cni-conf-dir=/host/etc/cni/net.d',
      `--host-cni-conf-dir=${o.node.cniConfDir}`,
      '--plugin-source=/opt/weft/cni/weft-cni',
      `--socket=${SOCKET_DIR}/node.sock`,
      `--failure-policy=${o.node.cniFailurePolicy}`,
      `--exclude-namespaces=${exclude.join(',')}`,
      `--root-namespace=${o.rootNamespace}`,
      `--log-file=${SOCKET_DIR}/cni.log`,
      `--log-level=${o.logLevel}`,
      ...(watch ? ['--watch'] : []),
    ],
    ...(watch
      ? { resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '256Mi' } } }
      : {}),
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: false,
      runAsUser: 0,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      { name: 'cni-bin', mountPath: '/host/opt/cni/bin' },
      { name: 'cni-net', mountPath: '/host/etc/cni/net.d' },
    ],
  };
}

export function nodeObjects(
  o: InstallOptions,
): [IServiceAccount, IClusterRole, IClusterRoleBinding, IDaemonSet] {
  const ns = o.namespace;
  const meta = { name: NODE, namespace: ns, labels: labels() };
  const exclude = [...new Set([...o.node.excludeNamespaces, ns])];
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta },
    nodeClusterRole(),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: NODE, labels: labels() },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NODE },
      subjects: [{ kind: 'ServiceAccount', name: NODE, namespace: ns }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: meta,
      spec: {
        selector: { matchLabels: { app: NODE } },
        // Surge, not unavailability: the new agent binds beside the old one (SO_REUSEPORT) before the
        // old one drains, so an upgrade never leaves a node's pods without their listeners.
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: {
          metadata: { labels: { ...labels(), [DATAPLANE_MODE]: 'none' } },
          spec: {
            serviceAccountName: NODE,
            priorityClassName: 'system-node-critical',
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            tolerations: [
              { effect: 'NoSchedule', operator: 'Exists' },
              { key: 'CriticalAddonsOnly', operator: 'Exists' },
              { effect: 'NoExecute', operator: 'Exists' },
            ],
            hostNetwork: false,
            hostPID: false,
            hostIPC: false,
            terminationGracePeriodSeconds: 30,
            // The install step runs first (the plugin is chained before the agent starts) and then stays
            // as the cni container, which puts the entry back if the primary CNI rewrites its conflist.
            initContainers: [cniContainer(o, 'install-cni', exclude, false)],
            containers: [
              cniContainer(o, 'cni', exclude, true),
              {
                name: 'weft-node',
                image: image(o),
                imagePullPolicy: o.image.pullPolicy,
                args: ['weft-node', `--socket=${SOCKET_DIR}/node.sock`],
                env: [
                  ...POD_ENV,
                  ...env({
                    XDS_ADDRESS: pilotXdsAddress(o),
                    CA_ADDRESS: pilotCaAddress(o),
                    CA_ROOT_CERT: `${ROOT_CERT_DIR}/root-cert.pem`,
                    TRUST_DOMAIN: o.trustDomain,
                    CLUSTER_ID: o.clusterId,
                    BOOTSTRAP_TOKEN_FILE: `${TOKEN_DIR}/istio-token`,
                    WORKER_THREADS: String(o.node.workerThreads === 0 ? '' : o.node.workerThreads),
                    LOG_LEVEL: o.logLevel,
                  }),
                ].filter((e) => e.value !== ''),
                ports: [
                  { name: 'http-metrics', containerPort: 15020, protocol: 'TCP' },
                  { name: 'http-ready', containerPort: 15021, protocol: 'TCP' },
                ],
                readinessProbe: READINESS,
                resources: resources(o.node.resources),
                securityContext: {
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ['ALL'], add: [...NODE_CAPABILITIES] },
                  privileged: false,
                  readOnlyRootFilesystem: true,
                  runAsNonRoot: false,
                  runAsUser: 0,
                  runAsGroup: 1337,
                  seccompProfile: { type: 'RuntimeDefault' },
                },
                volumeMounts: [
                  { name: 'weft-run', mountPath: SOCKET_DIR },
                  // New pods' namespaces appear after the agent started: propagate host mounts.
                  { name: 'netns', mountPath: '/var/run/netns', mountPropagation: 'HostToContainer' },
                  { name: 'istio-token', mountPath: TOKEN_DIR, readOnly: true },
                  { name: 'istio-ca-root-cert', mountPath: ROOT_CERT_DIR, readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'cni-bin', hostPath: { path: o.node.cniBinDir, type: 'DirectoryOrCreate' } },
              { name: 'cni-net', hostPath: { path: o.node.cniConfDir, type: 'DirectoryOrCreate' } },
              { name: 'weft-run', hostPath: { path: SOCKET_DIR, type: 'DirectoryOrCreate' } },
              { name: 'netns', hostPath: { path: '/var/run/netns', type: 'DirectoryOrCreate' } },
              tokenVolume(),
              rootCertVolume(),
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
      },
    },
  ];
}
