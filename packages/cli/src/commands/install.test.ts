import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { main } from '../main.js';
import { captureIo } from '../test-io.js';

const dir = mkdtempSync(join(tmpdir(), 'weftctl-install-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function docs(text: string): { kind: string; metadata: { name: string; namespace?: string } }[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter((d) => d !== null);
}

describe('weftctl install', () => {
  it('--render prints every object as a YAML stream', async () => {
    const io = captureIo();
    expect(await main(['install', '--render'], io)).toBe(0);
    const objects = docs(io.out());
    expect(objects.map((o) => o.kind)).toEqual(
      expect.arrayContaining([
        'CustomResourceDefinition',
        'Namespace',
        'Deployment',
        'DaemonSet',
        'GatewayClass',
      ]),
    );
    expect(objects.find((o) => o.kind === 'DaemonSet')?.metadata).toMatchObject({
      name: 'weft-node',
      namespace: 'weft-system',
    });
  });

  it('--set changes the rendering; bad values are usage errors', async () => {
    const io = captureIo();
    expect(
      await main(['install', '--render', '--set', 'namespace=mesh', '--set', 'crds.gatewayApi=false'], io),
    ).toBe(0);
    const objects = docs(io.out());
    expect(objects.find((o) => o.kind === 'Deployment')?.metadata.namespace).toBe('mesh');
    expect(objects.some((o) => o.metadata.name === 'gateways.gateway.networking.k8s.io')).toBe(false);
    const bad = captureIo();
    expect(await main(['install', '--render', '--set', 'nope=1'], bad)).toBe(2);
    expect(bad.err()).toContain('WEFT_MANIFESTS_UNKNOWN_VALUE');
  });

  it('-o json prints a v1 List', async () => {
    const io = captureIo();
    expect(await main(['install', '--render', '-o', 'json'], io)).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({ apiVersion: 'v1', kind: 'List' });
  });

  it('--out-dir writes a kustomize directory', async () => {
    const io = captureIo({ cwd: dir });
    expect(await main(['install', '--render', '--out-dir', 'k'], io)).toBe(0);
    expect(readFileSync(join(dir, 'k', 'kustomization.yaml'), 'utf8')).toContain('- weft-node.yaml');
  });

  it('applies through kubectl (server-side) when it is on PATH, and says what to do when not', async () => {
    const bin = join(dir, 'bin');
    writeFileSync(join(dir, 'kubectl-args'), '');
    const fake = `#!/bin/sh\necho "$@" > ${join(dir, 'kubectl-args')}\ncat > ${join(dir, 'kubectl-stdin')}\necho applied\n`;
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'kubectl'), fake);
    chmodSync(join(bin, 'kubectl'), 0o755);
    const io = captureIo({ env: { PATH: `${bin}:/usr/bin:/bin` } });
    expect(await main(['install'], io)).toBe(0);
    expect(io.out()).toContain('applied');
    expect(readFileSync(join(dir, 'kubectl-args'), 'utf8')).toContain(
      'apply --server-side --field-manager=weftctl -f -',
    );
    expect(docs(readFileSync(join(dir, 'kubectl-stdin'), 'utf8')).length).toBeGreaterThan(10);
    const none = captureIo({ env: { PATH: join(dir, 'empty') } });
    expect(await main(['install'], none)).toBe(2);
    expect(none.err()).toContain('kubectl is not on PATH');
  });
});
