import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeKubeApi } from '@weft/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import type { CommandIo } from '../command.js';
import { command } from './analyze.js';

const repo = join(import.meta.dirname, '../../../..');

function io(cwd = repo): CommandIo & { out: string; err: string } {
  const o = { out: '', err: '', isTty: false, env: {}, cwd } as CommandIo & { out: string; err: string };
  o.stdout = (t) => {
    o.out += t;
  };
  o.stderr = (t) => {
    o.err += t;
  };
  return o;
}

const dir = mkdtempSync(join(tmpdir(), 'weft-analyze-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('weftctl analyze', () => {
  it('finds nothing wrong in the demo config (exit 0)', async () => {
    const o = io();
    expect(await command.run({ positionals: ['deploy/examples/demo/config'], flags: {} }, o)).toBe(0);
    expect(o.out).toMatch(/No validation issues found when analyzing 7 file\(s\)/);
  });

  it('reports problems with codes and file:line, skips invalid objects, exit 1', async () => {
    writeFileSync(
      join(dir, 'mesh.yaml'),
      [
        'apiVersion: v1',
        'kind: Namespace',
        'metadata: {name: prod, labels: {istio.io/dataplane-mode: ambient}}',
        '---',
        'apiVersion: security.istio.io/v1',
        'kind: AuthorizationPolicy',
        'metadata: {name: bad-principal, namespace: prod}',
        'spec:',
        '  rules: [{from: [{source: {principals: ["spiffe://cluster.local/ns/prod/sa/web"]}}]}]',
        '---',
        'apiVersion: security.istio.io/v1',
        'kind: AuthorizationPolicy',
        'metadata: {name: ghost, namespace: prod}',
        'spec:',
        '  selector: {matchLabels: {app: nobody}}',
        '---',
        'kind: [broken',
        '',
      ].join('\n'),
    );
    const o = io(dir);
    expect(await command.run({ positionals: ['.'], flags: {} }, o)).toBe(1);
    expect(o.out).toMatch(
      /Error \[WEFT_POLICY_BAD_PRINCIPAL\] \(AuthorizationPolicy prod\/bad-principal\) mesh\.yaml:5/,
    );
    expect(o.out).toMatch(
      /Warning \[WEFT_CONFIG_SELECTS_NOTHING\] \(AuthorizationPolicy prod\/ghost\) mesh\.yaml:11 spec\.selector/,
    );
    expect(o.out).toMatch(/Error \[WEFT_CONFIG_BAD_YAML\] mesh\.yaml:1[78]/);

    const j = io(dir);
    expect(await command.run({ positionals: [join(dir, 'mesh.yaml')], flags: { o: 'json' } }, j)).toBe(1);
    const report = JSON.parse(j.out) as { errors: number; warnings: number; problems: { code: string }[] };
    expect(report.errors).toBe(2);
    expect(report.problems.map((p) => p.code)).toContain('WEFT_CONFIG_SELECTS_NOTHING');
  });

  it('says how to use it', async () => {
    const o = io();
    expect(await command.run({ positionals: [], flags: {} }, o)).toBe(2);
    expect(o.err).toMatch(/usage: weftctl analyze/);
    expect(await command.run({ positionals: ['/nonexistent-dir'], flags: {} }, io())).toBe(2);
  });
});

describe('weftctl analyze --kubeconfig (against the fake API server, which speaks the real list protocol)', () => {
  const apis: FakeKubeApi[] = [];
  afterAll(async () => {
    for (const a of apis) await a.close();
  });

  async function cluster(): Promise<string> {
    const api = await FakeKubeApi.start();
    apis.push(api);
    api.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'prod', labels: { 'istio.io/dataplane-mode': 'ambient' } },
    });
    api.apply({
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'ghost', namespace: 'prod' },
      spec: { selector: { matchLabels: { app: 'nobody' } } },
    });
    api.apply({
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'bad-principal', namespace: 'prod' },
      spec: { rules: [{ from: [{ source: { principals: ['spiffe://cluster.local/ns/prod/sa/web'] } }] }] },
    });
    api.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token', namespace: 'prod' }, data: {} });
    const kubeconfig = join(dir, `kubeconfig-${apis.length}`);
    writeFileSync(kubeconfig, api.kubeconfig());
    return kubeconfig;
  }

  it('reads the live objects and reports their problems by object name', async () => {
    const kubeconfig = await cluster();
    const o = io(dir);
    expect(await command.run({ positionals: [], flags: { kubeconfig } }, o)).toBe(1);
    expect(o.out).toMatch(/Error \[WEFT_POLICY_BAD_PRINCIPAL\] \(AuthorizationPolicy prod\/bad-principal\)/);
    expect(o.out).toMatch(/Warning \[WEFT_CONFIG_SELECTS_NOTHING\] \(AuthorizationPolicy prod\/ghost\)/);
    expect(o.out).toMatch(/in the cluster \(3 objects\)/);
    const api = apis[apis.length - 1] as FakeKubeApi;
    // Secrets are never read.
    expect(api.requests.some((r) => r.path.includes('secrets'))).toBe(false);
  });

  it('applies files on top of the cluster: a fixed policy in a file replaces the live one', async () => {
    const kubeconfig = await cluster();
    writeFileSync(
      join(dir, 'fix.yaml'),
      [
        'apiVersion: security.istio.io/v1',
        'kind: AuthorizationPolicy',
        'metadata: {name: bad-principal, namespace: prod}',
        'spec:',
        '  rules: [{from: [{source: {principals: ["cluster.local/ns/prod/sa/web"]}}]}]',
        '',
      ].join('\n'),
    );
    const o = io(dir);
    expect(await command.run({ positionals: ['fix.yaml'], flags: { kubeconfig, o: 'json' } }, o)).toBe(1);
    const report = JSON.parse(o.out) as { clusterObjects: number; problems: { code: string }[] };
    expect(report.clusterObjects).toBe(3);
    expect(report.problems.map((p) => p.code)).not.toContain('WEFT_POLICY_BAD_PRINCIPAL');
    expect(report.problems.map((p) => p.code)).toContain('WEFT_CONFIG_SELECTS_NOTHING');
  });

  it('fails clearly when the cluster cannot be reached', async () => {
    const o = io(dir);
    const kubeconfig = join(dir, 'missing-kubeconfig');
    expect(await command.run({ positionals: [], flags: { kubeconfig } }, o)).toBe(1);
    expect(o.err).toMatch(/cannot read the cluster/);
  });
});
