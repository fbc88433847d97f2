/**
 * A synthetic mesh as Kubernetes YAML, one file per namespace and kind (the way a GitOps repo looks):
 * `pods` pods over `namespaces` namespaces and `nodes` nodes, `services` Services each selecting a slice
 * of the pods, `policies` selector AuthorizationPolicies. Deterministic, so runs compare.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MeshSize {
  pods: number;
  services: number;
  policies: number;
  namespaces: number;
  nodes: number;
}

export function podIp(i: number): string {
  return `10.${64 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`;
}

export function podYaml(i: number, size: MeshSize, ip = podIp(i)): string {
  const ns = `ns${i % size.namespaces}`;
  const svc = i % size.services;
  return `apiVersion: v1
kind: Pod
metadata:
  name: pod-${i}
  namespace: ${ns}
  labels: {app: svc-${svc}, version: v1}
spec:
  nodeName: node${i % size.nodes}
  serviceAccountName: sa-${svc}
  containers: [{name: app, image: app, ports: [{name: http, containerPort: 8080}]}]
status:
  podIP: ${ip}
  podIPs: [{ip: ${ip}}]
`;
}

/** Pods of one namespace file, with an optional override of one pod's IP (the single-update test). */
export function podsFile(nsIndex: number, size: MeshSize, override?: { pod: number; ip: string }): string {
  const docs: string[] = [];
  for (let i = nsIndex; i < size.pods; i += size.namespaces) {
    docs.push(podYaml(i, size, override?.pod === i ? override.ip : podIp(i)));
  }
  return docs.join('---\n');
}

export function writeMesh(dir: string, size: MeshSize): void {
  mkdirSync(dir, { recursive: true });
  const base: string[] = [];
  for (let n = 0; n < size.namespaces; n++) {
    base.push(
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: ns${n}, labels: {istio.io/dataplane-mode: ambient}}\n`,
    );
  }
  for (let n = 0; n < size.nodes; n++) base.push(`apiVersion: v1\nkind: Node\nmetadata: {name: node${n}}\n`);
  writeFileSync(join(dir, '00-base.yaml'), base.join('---\n'));
  for (let n = 0; n < size.namespaces; n++) {
    writeFileSync(join(dir, `10-pods-ns${n}.yaml`), podsFile(n, size));
    const svcs: string[] = [];
    const pols: string[] = [];
    for (let s = 0; s < size.services; s++) {
      // Service s selects pods with app=svc-s; those live in namespace (pod index % namespaces).
      if (s % size.namespaces !== n % size.namespaces && size.services >= size.namespaces) continue;
      svcs.push(`apiVersion: v1
kind: Service
metadata: {name: svc-${s}, namespace: ns${n}}
spec:
  clusterIP: 10.96.${Math.floor(s / 256)}.${s % 256}
  selector: {app: svc-${s}}
  ports: [{name: http, port: 80, targetPort: http}]
`);
      if (s < size.policies) {
        pols.push(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-svc-${s}, namespace: ns${n}}
spec:
  selector: {matchLabels: {app: svc-${s}}}
  action: ALLOW
  rules:
  - from: [{source: {principals: [cluster.local/ns/ns${(n + 1) % size.namespaces}/sa/sa-${(s + 1) % size.services}]}}]
    to: [{operation: {ports: ["8080"]}}]
`);
      }
    }
    writeFileSync(join(dir, `20-services-ns${n}.yaml`), svcs.join('---\n'));
    writeFileSync(join(dir, `30-policies-ns${n}.yaml`), pols.join('---\n'));
  }
}
