/**
 * deploy/helm/weft renders, with Helm's template engine (Go text/template + sprig, deploy/helm/render),
 * into exactly the objects `weftctl install --render` prints (minus the Namespace, which Helm's
 * --namespace/--create-namespace owns), for the default values and for non-default ones.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '@weft/cli';
import { commandsSkipReason } from '@weft/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { CHART_DIR, chartTemplates } from './helm-templates.js';

const GOPATH = '/usr/share/gocode';
const SPRIG = join(GOPATH, 'src/github.com/Masterminds/sprig');
const skip =
  commandsSkipReason(['go']) ??
  (existsSync(SPRIG)
    ? undefined
    : `needs ${SPRIG} (Debian golang-github-masterminds-sprig-dev; scripts/setup.sh installs it)`);
if (skip !== undefined) console.warn(`skipping the Helm chart rendering: ${skip}`);

const scratch = mkdtempSync(join(tmpdir(), 'weft-helm-'));
const renderer = join(scratch, 'render');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
function byKey(objects: Obj[]): Map<string, Obj> {
  return new Map(
    objects.map((o) => [`${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]),
  );
}
function docs(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((d): d is Obj => d !== null);
}

async function weftctl(sets: string[]): Promise<Map<string, Obj>> {
  let out = '';
  const io = {
    stdout: (t: string) => {
      out += t;
    },
    stderr: (t: string) => {
      throw new Error(t);
    },
    isTty: false,
    env: {},
    cwd: scratch,
  };
  expect(await main(['install', '--render', ...sets.flatMap((s) => ['--set', s])], io)).toBe(0);
  const objects = byKey(docs(out));
  for (const [k, o] of objects) if (o.kind === 'Namespace') objects.delete(k);
  return objects;
}

function helm(namespace: string, valuesFile?: string): Map<string, Obj> {
  const args = [
    '--namespace',
    namespace,
    '--name',
    'weft',
    ...(valuesFile ? ['-f', valuesFile] : []),
    CHART_DIR,
  ];
  return byKey(docs(execFileSync(renderer, args, { encoding: 'utf8', timeout: 60_000 })));
}

function expectSame(helmObjects: Map<string, Obj>, weftctlObjects: Map<string, Obj>): void {
  expect([...helmObjects.keys()].sort()).toEqual([...weftctlObjects.keys()].sort());
  for (const [key, o] of weftctlObjects) expect(helmObjects.get(key), key).toEqual(o);
}

describe('deploy/helm/weft', () => {
  it('the templates are what helm-templates.ts generates from @weft/manifests', () => {
    for (const [name, text] of Object.entries(chartTemplates()))
      expect(
        readFileSync(join(CHART_DIR, 'templates', name), 'utf8'),
        `templates/${name} is stale: npx tsx test/e2e/cni/helm-templates.ts --write`,
      ).toBe(text);
  });

  describe.skipIf(skip !== undefined)('rendered with Helm’s template engine', () => {
    beforeAll(() => {
      // GOPATH mode with Debian's packaged sprig: no module proxy, nothing downloaded.
      execFileSync('go', ['build', '-o', renderer, '.'], {
        cwd: join(CHART_DIR, '..', 'render'),
        env: {
          ...process.env,
          GO111MODULE: 'off',
          GOPATH,
          GOPROXY: 'off',
          GOFLAGS: '',
          GOCACHE: join(scratch, 'gocache'),
        },
        stdio: 'pipe',
        timeout: 120_000,
      });
    }, 180_000);

    it('default values equal weftctl install --render', async () => {
      expectSame(helm('weft-system'), await weftctl([]));
    });

    it('non-default values equal weftctl install --set with the same keys', async () => {
      const values = {
        image: { repository: 'registry.example/weft', tag: 'dev', pullPolicy: 'Always' },
        trustDomain: 'example.org',
        logLevel: 'debug',
        crds: { istio: true, gatewayApi: false },
        pilot: { replicas: 2 },
        node: {
          workerThreads: 4,
          cniBinDir: '/home/kubernetes/bin',
          cniFailurePolicy: 'closed',
          excludeNamespaces: ['kube-system', 'monitoring'],
          resources: { requests: { cpu: '500m' } },
        },
        waypoint: { resources: { limits: { memory: '1Gi' } } },
      };
      const file = join(scratch, 'values.yaml');
      writeFileSync(file, stringify(values));
      const sets = [
        'namespace=mesh',
        'image.repository=registry.example/weft',
        'image.tag=dev',
        'image.pullPolicy=Always',
        'trustDomain=example.org',
        'logLevel=debug',
        'crds.gatewayApi=false',
        'pilot.replicas=2',
        'node.workerThreads=4',
        'node.cniBinDir=/home/kubernetes/bin',
        'node.cniFailurePolicy=closed',
        'node.excludeNamespaces={kube-system,monitoring}',
        'node.resources.requests.cpu=500m',
        'waypoint.resources.limits.memory=1Gi',
      ];
      const fromHelm = helm('mesh', file);
      expectSame(fromHelm, await weftctl(sets));
      const ds = fromHelm.get('apps/v1/DaemonSet/mesh/weft-node') as unknown as {
        spec: {
          template: { spec: { containers: { name: string; env?: { name: string; value?: string }[] }[] } };
        };
      };
      expect(ds.spec.template.spec.containers.find((c) => c.name === 'weft-node')?.env).toContainEqual({
        name: 'WORKER_THREADS',
        value: '4',
      });
    });
  });
});
