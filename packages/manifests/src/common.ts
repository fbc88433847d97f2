/** Pieces shared by the pilot, weft-node and waypoint objects. */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { InstallOptions, Resources } from './options.js';

export function image(o: Pick<InstallOptions, 'image'>): string {
  return `${o.image.repository}:${o.image.tag}`;
}

export function env(values: Record<string, string>): IEnvVar[] {
  return Object.entries(values).map(([name, value]) => ({ name, value }));
}

export function fieldEnv(values: Record<string, string>): IEnvVar[] {
  return Object.entries(values).map(([name, fieldPath]) => ({
    name,
    valueFrom: { fieldRef: { fieldPath } },
  }));
}

/** POD_NAME, POD_NAMESPACE, INSTANCE_IP, SERVICE_ACCOUNT, NODE_NAME from the downward API. */
export const POD_ENV = fieldEnv({
  POD_NAME: 'metadata.name',
  POD_NAMESPACE: 'metadata.namespace',
  INSTANCE_IP: 'status.podIP',
  SERVICE_ACCOUNT: 'spec.serviceAccountName',
  NODE_NAME: 'spec.nodeName',
});

export function resources(r: Resources): NonNullable<IContainer['resources']> {
  return {
    requests: { cpu: r.requests.cpu, memory: r.requests.memory },
    limits: { memory: r.limits.memory },
  };
}

/** The restricted Pod Security Standard for containers that need no privileges. */
export const RESTRICTED: NonNullable<IContainer['securityContext']> = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  privileged: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: 1337,
  runAsGroup: 1337,
  seccompProfile: { type: 'RuntimeDefault' },
};

export const READINESS = {
  httpGet: { path: '/healthz/ready', port: 15021 },
  periodSeconds: 5,
  failureThreshold: 3,
  timeoutSeconds: 2,
};

/** The audience Istio's CA expects on the workload's bootstrap token (ztunnel: ./var/run/secrets/tokens/istio-token). */
export const TOKEN_AUDIENCE = 'istio-ca';
export const TOKEN_DIR = '/var/run/secrets/tokens';

export function tokenVolume(): IVolume {
  return {
    name: 'istio-token',
    projected: {
      sources: [
        { serviceAccountToken: { audience: TOKEN_AUDIENCE, expirationSeconds: 43200, path: 'istio-token' } },
      ],
    },
  };
}

/** pilot's root certificate, published like istiod's in every namespace (ConfigMap istio-ca-root-cert). */
export const ROOT_CERT_CONFIGMAP = 'istio-ca-root-cert';
export const ROOT_CERT_DIR = '/var/run/secrets/istio';

export function rootCertVolume(): IVolume {
  return { name: 'istio-ca-root-cert', configMap: { name: ROOT_CERT_CONFIGMAP, optional: true } };
}

/** pilot's xDS over TLS (XDS_TLS_PORT; its serving certificate names weft-pilot.<ns>.svc). */
export const XDS_TLS_PORT = 15011;

export function pilotXdsAddress(o: Pick<InstallOptions, 'namespace'>): string {
  return `weft-pilot.${o.namespace}.svc:${XDS_TLS_PORT}`;
}

/** pilot's CA (CreateCertificate over TLS). */
export function pilotCaAddress(o: Pick<InstallOptions, 'namespace'>): string {
  return `weft-pilot.${o.namespace}.svc:15012`;
}
