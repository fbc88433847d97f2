/**
 * Every object Weft renders, checked two ways: kubernetes-models' validators (types, enums, required
 * fields) and the TypeScript compiler's excess-property check against the same models' interfaces,
 * which catches unknown fields (a misspelt `mountPropogation` would otherwise be silently dropped by the
 * API server).
 */
import { join } from 'node:path';
import { GatewayClass } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/GatewayClass';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { renderInstall } from './install.js';
import { applySets, defaultInstallOptions } from './options.js';
import { waypointObjects } from './waypoint.js';

const MODELS: Record<
  string,
  { module: string; type: string; model: new (data: never) => { validate(): void } }
> = {
  Namespace: { module: 'kubernetes-models/v1/Namespace', type: 'INamespace', model: Namespace },
  ServiceAccount: {
    module: 'kubernetes-models/v1/ServiceAccount',
    type: 'IServiceAccount',
    model: ServiceAccount,
  },
  Service: { module: 'kubernetes-models/v1/Service', type: 'IService', model: Service },
  ClusterRole: {
    module: 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole',
    type: 'IClusterRole',
    model: ClusterRole,
  },
  ClusterRoleBinding: {
    module: 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding',
    type: 'IClusterRoleBinding',
    model: ClusterRoleBinding,
  },
  Role: { module: 'kubernetes-models/rbac.authorization.k8s.io/v1/Role', type: 'IRole', model: Role },
  RoleBinding: {
    module: 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding',
    type: 'IRoleBinding',
    model: RoleBinding,
  },
  Deployment: { module: 'kubernetes-models/apps/v1/Deployment', type: 'IDeployment', model: Deployment },
  DaemonSet: { module: 'kubernetes-models/apps/v1/DaemonSet', type: 'IDaemonSet', model: DaemonSet },
  CustomResourceDefinition: {
    module: 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition',
    type: 'ICustomResourceDefinition',
    model: CustomResourceDefinition,
  },
  GatewayClass: {
    module: '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/GatewayClass',
    type: 'IGatewayClass',
    model: GatewayClass,
  },
};

/** Type-checks `const oN: IKind = <object as JSON>` for every object; returns the compiler's complaints. */
function unknownFieldErrors(objects: readonly { kind?: string }[]): string[] {
  const file = join(import.meta.dirname, '__rendered_objects__.ts');
  const kinds = [...new Set(objects.map((o) => o.kind ?? ''))];
  const lines = kinds.map((k) => `import type { ${MODELS[k]?.type} } from '${MODELS[k]?.module}';`);
  objects.forEach((o, i) => {
    lines.push(`export const o${i}: ${MODELS[o.kind ?? '']?.type} = ${JSON.stringify(o)};`);
  });
  const text = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, text, lang) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    const objectIndex = where === undefined ? -1 : where.line - kinds.length;
    const o = objects[objectIndex] as { kind?: string; metadata?: { name?: string } } | undefined;
    return `${o?.kind}/${o?.metadata?.name}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

function validateAll(objects: readonly { kind?: string }[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    const entry = MODELS[o.kind ?? ''];
    if (entry === undefined) {
      problems.push(`no schema for kind ${o.kind}`);
      continue;
    }
    try {
      new entry.model(structuredClone(o) as never).validate();
    } catch (err) {
      problems.push(`${o.kind}: ${String(err)}`);
    }
  }
  return problems;
}

const gateway = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway' as const,
  metadata: { name: 'waypoint', namespace: 'prod', uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' },
  spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
};

describe('rendered objects against the Kubernetes schemas', () => {
  const objects = [
    ...renderInstall(defaultInstallOptions()),
    ...renderInstall(applySets(defaultInstallOptions(), ['node.workerThreads=2', 'namespace=mesh'])),
    ...waypointObjects(gateway, defaultInstallOptions()),
  ];

  it('every object has a model and passes its validator', () => {
    expect(validateAll(objects)).toEqual([]);
  });

  it('no object carries a field the schema does not know', () => {
    expect(unknownFieldErrors(objects)).toEqual([]);
  }, 60_000);

  it('the unknown-field check does catch a misspelt field', () => {
    const ds = structuredClone(objects.find((o) => o.kind === 'DaemonSet')) as unknown as {
      kind: string;
      spec: { template: { spec: Record<string, unknown> } };
    };
    ds.spec.template.spec.hostPIDs = false;
    const errors = unknownFieldErrors([ds]);
    expect(errors.join('\n')).toContain('hostPIDs');
    // The validator alone accepts it: that is why the compiler check exists.
    expect(validateAll([ds])).toEqual([]);
  }, 60_000);
});
