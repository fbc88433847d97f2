/** The Kubernetes object types Weft renders (kubernetes-models' interfaces; type-only imports). */
import type { ICustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

export type { IContainer } from 'kubernetes-models/v1/Container';
export type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
export type {
  IClusterRole,
  IClusterRoleBinding,
  ICustomResourceDefinition,
  IDaemonSet,
  IDeployment,
  INamespace,
  IRole,
  IRoleBinding,
  IService,
  IServiceAccount,
};

/** gateway.networking.k8s.io GatewayClass (not in kubernetes-models' core set). */
export interface IGatewayClass {
  apiVersion: 'gateway.networking.k8s.io/v1';
  kind: 'GatewayClass';
  metadata: { name: string; labels?: Record<string, string> };
  spec: { controllerName: string; description?: string };
}

export type KubeObject =
  | INamespace
  | ICustomResourceDefinition
  | IServiceAccount
  | IClusterRole
  | IClusterRoleBinding
  | IRole
  | IRoleBinding
  | IService
  | IDeployment
  | IDaemonSet
  | IGatewayClass;

/** Labels every object Weft installs carries. */
export const PART_OF = { 'app.kubernetes.io/part-of': 'weft' } as const;
export const DATAPLANE_MODE = 'istio.io/dataplane-mode';
