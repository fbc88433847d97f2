import { isWeftError } from '@weft/telemetry/errors';
import { describe, expect, it } from 'vitest';
import { NODE_CAPABILITIES, nodeObjects } from './node.js';
import { applySets, defaultInstallOptions } from './options.js';

const [, role, binding, ds] = nodeObjects(defaultInstallOptions());
const pod = ds.spec?.template.spec;

describe('weft-node DaemonSet grants what the agent needs and nothing more', () => {
  it('the agent container: root with exactly NET_ADMIN, SYS_ADMIN, NET_RAW; nothing privileged', () => {
    const containers = pod?.containers ?? [];
    expect(containers.map((c) => c.name)).toEqual(['cni', 'weft-node']);
    const sc = containers.find((c) => c.name === 'weft-node')?.securityContext;
    expect(sc?.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'SYS_ADMIN', 'NET_RAW'] });
    expect(NODE_CAPABILITIES).toEqual(['NET_ADMIN', 'SYS_ADMIN', 'NET_RAW']);
    expect(sc).toMatchObject({
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
    expect(pod).toMatchObject({ hostNetwork: false, hostPID: false, hostIPC: false });
  });

  it('the weft-cni containers (install step, then --watch) have no capabilities at all', () => {
    const init = pod?.initContainers ?? [];
    expect(init.map((c) => c.name)).toEqual(['install-cni']);
    const cni = [init[0], pod?.containers.find((c) => c.name === 'cni')];
    for (const c of cni) {
      expect(c?.securityContext?.capabilities).toEqual({ drop: ['ALL'] });
      expect(c?.securityContext?.privileged).toBe(false);
    }
    expect(cni[1]?.args).toEqual([...(cni[0]?.args ?? []), '--watch']);
  });

  it('host paths: exactly the socket dir, netns and (init only) the CNI dirs', () => {
    const hostPaths = Object.fromEntries(
      (pod?.volumes ?? []).filter((v) => v.hostPath !== undefined).map((v) => [v.name, v.hostPath?.path]),
    );
    expect(hostPaths).toEqual({
      'cni-bin': '/opt/cni/bin',
      'cni-net': '/etc/cni/net.d',
      'weft-run': '/var/run/weft',
      netns: '/var/run/netns',
    });
    const agent = pod?.containers.find((c) => c.name === 'weft-node');
    const agentMounts = (agent?.volumeMounts ?? []).map((m) => m.name);
    expect(agentMounts).not.toContain('cni-bin');
    expect(agentMounts).not.toContain('cni-net');
    const netns = agent?.volumeMounts?.find((m) => m.name === 'netns');
    expect(netns?.mountPropagation).toBe('HostToContainer');
    const initMounts = (pod?.initContainers?.[0]?.volumeMounts ?? []).map((m) => m.name).sort();
    expect(initMounts).toEqual(['cni-bin', 'cni-net']);
    const cniMounts = (pod?.containers.find((c) => c.name === 'cni')?.volumeMounts ?? [])
      .map((m) => m.name)
      .sort();
    expect(cniMounts).toEqual(['cni-bin', 'cni-net']);
  });

  it('scheduling: every node, critical priority, surge upgrades, readiness on 15021', () => {
    expect(pod?.priorityClassName).toBe('system-node-critical');
    expect(pod?.tolerations).toContainEqual({ effect: 'NoSchedule', operator: 'Exists' });
    expect(pod?.tolerations).toContainEqual({ effect: 'NoExecute', operator: 'Exists' });
    expect(ds.spec?.updateStrategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
    const agent = pod?.containers.find((c) => c.name === 'weft-node');
    expect(agent?.readinessProbe?.httpGet).toEqual({ path: '/healthz/ready', port: 15021 });
    expect(agent?.resources?.requests).toBeDefined();
    expect(ds.spec?.template.metadata?.labels?.['istio.io/dataplane-mode']).toBe('none');
  });

  it('RBAC: only the reads weft-cni’s lookups need', () => {
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['get'] },
      { apiGroups: ['security.istio.io'], resources: ['peerauthentications'], verbs: ['list'] },
    ]);
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'weft-node', namespace: 'weft-system' },
    ]);
  });

  it('the install namespace is never enrolled and options reach the init container', () => {
    const [, , , custom] = nodeObjects(
      applySets(defaultInstallOptions(), [
        'namespace=mesh',
        'node.cniFailurePolicy=closed',
        'node.excludeNamespaces={kube-system,monitoring}',
        'node.cniConfDir=/etc/cni/multus/net.d',
      ]),
    );
    const args = custom.spec?.template.spec?.initContainers?.[0]?.args ?? [];
    expect(args).toContain('--exclude-namespaces=kube-system,monitoring,mesh');
    expect(args).toContain('--failure-policy=closed');
    expect(args).toContain('--host-cni-conf-dir=/etc/cni/multus/net.d');
  });
});

describe('--set values', () => {
  it('coerces by the default’s type and rejects unknown keys and bad values', () => {
    const o = applySets(defaultInstallOptions(), [
      'pilot.replicas=2',
      'crds.gatewayApi=false',
      'image.tag=dev',
    ]);
    expect(o.pilot.replicas).toBe(2);
    expect(o.crds.gatewayApi).toBe(false);
    expect(o.image.tag).toBe('dev');
    for (const [set, code] of [
      ['pilot.replicaz=2', 'WEFT_MANIFESTS_UNKNOWN_VALUE'],
      ['pilot=2', 'WEFT_MANIFESTS_UNKNOWN_VALUE'],
      ['pilot.replicas=two', 'WEFT_MANIFESTS_BAD_VALUE'],
      ['node.cniFailurePolicy=maybe', 'WEFT_MANIFESTS_BAD_VALUE'],
      ['namespace=Not_A_Name', 'WEFT_MANIFESTS_BAD_VALUE'],
      ['novalue', 'WEFT_MANIFESTS_BAD_VALUE'],
    ] as const) {
      let caught: unknown;
      try {
        applySets(defaultInstallOptions(), [set]);
      } catch (err) {
        caught = err;
      }
      expect(isWeftError(caught, code), set).toBe(true);
    }
  });
});
