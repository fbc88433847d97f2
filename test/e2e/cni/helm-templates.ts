/**
 * Generates deploy/helm/weft/templates/*.yaml from @weft/manifests, so the chart and `weftctl install`
 * cannot drift: the objects are rendered with a sentinel for every value, and each sentinel becomes the
 * template expression that reads that value. helm-chart.test.ts renders the chart with Helm's template
 * engine (deploy/helm/render) for default and non-default values and compares with weftctl's rendering.
 *
 *   npx tsx test/e2e/cni/helm-templates.ts --write     regenerate the templates
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  applySets,
  defaultInstallOptions,
  gatewayApiCrds,
  istioCrds,
  renderInstallGroups,
} from '@weft/manifests';
import { stringify } from 'yaml';

export const CHART_DIR = join(import.meta.dirname, '..', '..', '..', 'deploy', 'helm', 'weft');

const SENTINELS = [
  'namespace=zzns',
  'image.repository=zzrepo',
  'image.tag=zztag',
  'image.pullPolicy=Never',
  'trustDomain=zztd',
  'clusterId=zzcid',
  'rootNamespace=zzroot',
  'logLevel=debug',
  'pilot.replicas=7',
  'pilot.resources.requests.cpu=zzpcpu',
  'pilot.resources.requests.memory=zzpmem',
  'pilot.resources.limits.memory=zzplim',
  'node.resources.requests.cpu=zzncpu',
  'node.resources.requests.memory=zznmem',
  'node.resources.limits.memory=zznlim',
  'node.workerThreads=9',
  'node.cniBinDir=/zzbin',
  'node.cniConfDir=/zzconf',
  'node.cniFailurePolicy=closed',
  'node.excludeNamespaces={zzex}',
  'waypoint.resources.requests.cpu=zzwcpu',
];

/** Sentinel text → template text, applied in order (longest, most specific first). */
const REPLACEMENTS: [string | RegExp, string][] = [
  [
    /^( *)- name: WORKER_THREADS\n *value: "9"\n/m,
    '{{- if .Values.node.workerThreads }}\n$1- name: WORKER_THREADS\n$1  value: {{ .Values.node.workerThreads | quote }}\n{{- end }}\n',
  ],
  [/value: '\{"limits".*zzwcpu.*'$/m, 'value: {{ toJson .Values.waypoint.resources | quote }}'],
  [
    '--exclude-namespaces=zzex,zzns',
    '--exclude-namespaces={{ append .Values.node.excludeNamespaces .Release.Namespace | uniq | join "," }}',
  ],
  ['zzrepo:zztag', '{{ include "weft.image" . }}'],
  ['imagePullPolicy: Never', 'imagePullPolicy: {{ .Values.image.pullPolicy }}'],
  ['zzns', '{{ .Release.Namespace }}'],
  ['zztd', '{{ .Values.trustDomain }}'],
  ['zzcid', '{{ .Values.clusterId }}'],
  ['zzroot', '{{ .Values.rootNamespace }}'],
  ['value: debug', 'value: {{ .Values.logLevel }}'],
  ['--log-level=debug', '--log-level={{ .Values.logLevel }}'],
  ['replicas: 7', 'replicas: {{ .Values.pilot.replicas }}'],
  ['zzpcpu', '{{ .Values.pilot.resources.requests.cpu }}'],
  ['zzpmem', '{{ .Values.pilot.resources.requests.memory }}'],
  ['zzplim', '{{ .Values.pilot.resources.limits.memory }}'],
  ['zzncpu', '{{ .Values.node.resources.requests.cpu }}'],
  ['zznmem', '{{ .Values.node.resources.requests.memory }}'],
  ['zznlim', '{{ .Values.node.resources.limits.memory }}'],
  ['/zzbin', '{{ .Values.node.cniBinDir }}'],
  ['/zzconf', '{{ .Values.node.cniConfDir }}'],
  ['--failure-policy=closed', '--failure-policy={{ .Values.node.cniFailurePolicy }}'],
];

const HEADER =
  '# Generated from packages/manifests by test/e2e/cni/helm-templates.ts (npx tsx test/e2e/cni/helm-templates.ts --write).\n' +
  '# Do not edit: test/e2e/cni/helm-chart.test.ts fails when this differs from a fresh generation.\n';

function stream(objects: readonly unknown[]): string {
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })}`).join('');
}

function templatize(text: string): string {
  let out = text;
  for (const [from, to] of REPLACEMENTS)
    out = typeof from === 'string' ? out.split(from).join(to) : out.replace(from, to);
  const left = /zz[a-z]+/.exec(out);
  if (left !== null) throw new Error(`sentinel ${left[0]} has no template expression`);
  return out;
}

/** File name → content of every generated template. */
export function chartTemplates(): Record<string, string> {
  const groups = renderInstallGroups(applySets(defaultInstallOptions(), SENTINELS));
  const file = (name: string) => groups.find((g) => g.file === name)?.objects ?? [];
  return {
    'crds-istio.yaml': `${HEADER}{{- if .Values.crds.istio }}\n${stream(istioCrds())}{{- end }}\n`,
    'crds-gateway-api.yaml': `${HEADER}{{- if .Values.crds.gatewayApi }}\n${stream(gatewayApiCrds())}{{- end }}\n`,
    'pilot.yaml': HEADER + templatize(stream(file('pilot.yaml'))),
    'weft-node.yaml': HEADER + templatize(stream(file('weft-node.yaml'))),
    'gatewayclass.yaml': HEADER + stream(file('gatewayclass.yaml')),
  };
}

if (process.argv.includes('--write')) {
  for (const [name, text] of Object.entries(chartTemplates()))
    writeFileSync(join(CHART_DIR, 'templates', name), text);
  process.stdout.write('wrote deploy/helm/weft/templates\n');
}
