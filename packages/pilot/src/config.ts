/**
 * weft-pilot's configuration: flags first, then environment (istiod's names where they exist), then
 * defaults that work for the embedded demo. One typed object; nothing else reads env or argv.
 */
import { parseArgs } from 'node:util';
import { isLogLevel, type LogLevel, WeftError } from '@weft/telemetry';

export interface PilotConfig {
  /** `directory` (embedded, default) or `kubernetes`. */
  source: 'directory' | 'kubernetes';
  /** CONFIG_DIR / --config-dir: Kubernetes/Istio YAML, watched. */
  configDir: string;
  /** KUBECONFIG / --kubeconfig; in-cluster config when empty and source is kubernetes. */
  kubeconfig: string | undefined;
  /** Plaintext xDS (trusted local setups), 15010; null disables. */
  xdsPort: number | null;
  /** xDS and the CA (CreateCertificate + trust bundle) over TLS with pilot's serving certificate, 15012. */
  securePort: number;
  host: string;
  trustDomain: string;
  rootNamespace: string;
  clusterId: string;
  domainSuffix: string;
  debounceMs: number;
  debounceMaxMs: number;
  ca: {
    enabled: boolean;
    /** Self-signed root kept here (created on first start). */
    dir: string;
    /**
     * CA_SECRET / --ca-secret `namespace/name`: keep the self-signed root in that Kubernetes Secret instead
     * of `dir` (what the cluster install does, like istiod's istio-ca-secret); needs in-cluster credentials.
     */
    secret: { namespace: string; name: string } | undefined;
    /** Istio `cacerts` layout; takes precedence over `dir`/`secret` when it holds the files. */
    pluginDir: string | undefined;
    /** Embedded mode: token → grant file (BootstrapTokenAuthenticator). */
    bootstrapTokensFile: string | undefined;
    /** Kubernetes mode: accounts allowed to impersonate pods on their node (CA_TRUSTED_NODE_ACCOUNTS). */
    trustedNodeAccounts: string[];
  };
  ports: { metrics: number | null; readiness: number | null; admin: number | null };
  logLevel: LogLevel;
  logFormat: 'json' | 'pretty' | undefined;
}

export const USAGE = `weft-pilot: Weft's control plane (discovery + CA)

  --config-dir DIR          CONFIG_DIR              YAML directory to serve (embedded mode)   [./config]
  --kubeconfig FILE         KUBECONFIG              read the Kubernetes API instead
  --source directory|kubernetes                     default: kubernetes in a cluster, else directory
  --xds-port N              XDS_PORT                plaintext delta xDS                        [15010]
  --secure-port N           SECURE_PORT             xDS + CA over TLS (needs the CA)           [15012]
  --trust-domain TD         TRUST_DOMAIN                                                       [cluster.local]
  --root-namespace NS       ROOT_NAMESPACE                                                     [istio-system]
  --cluster-id ID           CLUSTER_ID                                                         [Kubernetes]
                            PILOT_DEBOUNCE_AFTER (ms) [100], PILOT_DEBOUNCE_MAX (ms) [10000]
  --ca-dir DIR              CA_DIR                  where the self-signed root lives           [./var/lib/weft/ca]
  --ca-secret NS/NAME       CA_SECRET               keep the self-signed root in this Secret (in cluster)
  --plugin-ca-dir DIR       PLUGIN_CA_DIR           Istio cacerts layout (plug-in CA; self-signed when empty)
  --bootstrap-tokens FILE   BOOTSTRAP_TOKENS_FILE   per-node tokens for the CA (embedded mode)
                            CA_TRUSTED_NODE_ACCOUNTS (ns/sa,...) [weft-system/weft-node]
  --no-ca                   ENABLE_CA=false
  --metrics-port N / --readiness-port N / --admin-port N   [15020 / 15021 / 15000]
  --log-level L             LOG_LEVEL                                                          [info]
`;

function portOf(name: string, v: string | undefined, fallback: number | null): number | null {
  if (v === undefined || v === '') return fallback;
  if (v === 'off' || v === 'none') return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new WeftError(
      'WEFT_PILOT_BAD_CONFIG',
      `${name} must be a port number 0-65535 or "off" (got "${v}")`,
    );
  return n;
}

function msOf(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined || v === '') return fallback;
  const n = Number(v.replace(/ms$/, ''));
  if (!Number.isFinite(n) || n < 0)
    throw new WeftError('WEFT_PILOT_BAD_CONFIG', `${name} must be milliseconds (got "${v}")`);
  return n;
}

function secretRef(v: string | undefined): { namespace: string; name: string } | undefined {
  if (v === undefined || v === '') return undefined;
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(v);
  if (m === null)
    throw new WeftError(
      'WEFT_PILOT_BAD_CONFIG',
      `CA_SECRET "${v}" must be namespace/name (e.g. weft-system/weft-ca)`,
    );
  return { namespace: m[1] as string, name: m[3] as string };
}

export function parsePilotConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): PilotConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'config-dir': { type: 'string' },
        kubeconfig: { type: 'string' },
        source: { type: 'string' },
        'xds-port': { type: 'string' },
        'secure-port': { type: 'string' },
        host: { type: 'string' },
        'trust-domain': { type: 'string' },
        'root-namespace': { type: 'string' },
        'cluster-id': { type: 'string' },
        'ca-dir': { type: 'string' },
        'ca-secret': { type: 'string' },
        'plugin-ca-dir': { type: 'string' },
        'bootstrap-tokens': { type: 'string' },
        'no-ca': { type: 'boolean' },
        'metrics-port': { type: 'string' },
        'readiness-port': { type: 'string' },
        'admin-port': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    throw new WeftError(
      'WEFT_PILOT_BAD_CONFIG',
      `${err instanceof Error ? err.message : String(err)}\n${USAGE}`,
    );
  }
  const s = (flag: string, envName: string): string | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? v : env[envName];
  };
  const kubeconfig = s('kubeconfig', 'KUBECONFIG');
  const sourceText = typeof values.source === 'string' ? values.source : undefined;
  const inCluster = env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_HOST !== '';
  const configDirGiven = s('config-dir', 'CONFIG_DIR');
  let source: PilotConfig['source'];
  if (sourceText === 'directory' || sourceText === 'kubernetes') source = sourceText;
  else if (sourceText !== undefined)
    throw new WeftError(
      'WEFT_PILOT_BAD_CONFIG',
      `--source must be directory or kubernetes (got "${sourceText}")`,
    );
  else
    source =
      configDirGiven === undefined && (inCluster || typeof values.kubeconfig === 'string')
        ? 'kubernetes'
        : 'directory';
  const level = s('log-level', 'LOG_LEVEL') ?? 'info';
  if (!isLogLevel(level))
    throw new WeftError('WEFT_PILOT_BAD_CONFIG', `LOG_LEVEL "${level}" is not a log level`);
  const format = env.LOG_FORMAT;
  return {
    source,
    configDir: configDirGiven ?? './config',
    kubeconfig: kubeconfig === '' ? undefined : kubeconfig,
    xdsPort: portOf('XDS_PORT', s('xds-port', 'XDS_PORT'), 15010),
    securePort: portOf('SECURE_PORT', s('secure-port', 'SECURE_PORT'), 15012) ?? 15012,
    host: s('host', 'POD_IP') ?? '0.0.0.0',
    trustDomain: s('trust-domain', 'TRUST_DOMAIN') ?? 'cluster.local',
    rootNamespace: s('root-namespace', 'ROOT_NAMESPACE') ?? 'istio-system',
    clusterId: s('cluster-id', 'CLUSTER_ID') ?? 'Kubernetes',
    domainSuffix: env.DOMAIN_SUFFIX ?? 'cluster.local',
    debounceMs: msOf('PILOT_DEBOUNCE_AFTER', env.PILOT_DEBOUNCE_AFTER, 100),
    debounceMaxMs: msOf('PILOT_DEBOUNCE_MAX', env.PILOT_DEBOUNCE_MAX, 10_000),
    ca: {
      enabled: values['no-ca'] !== true && env.ENABLE_CA !== 'false',
      dir: s('ca-dir', 'CA_DIR') ?? './var/lib/weft/ca',
      secret: secretRef(s('ca-secret', 'CA_SECRET')),
      pluginDir: s('plugin-ca-dir', 'PLUGIN_CA_DIR'),
      bootstrapTokensFile: s('bootstrap-tokens', 'BOOTSTRAP_TOKENS_FILE'),
      trustedNodeAccounts: (env.CA_TRUSTED_NODE_ACCOUNTS ?? 'weft-system/weft-node')
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== ''),
    },
    ports: {
      metrics: portOf('METRICS_PORT', s('metrics-port', 'METRICS_PORT'), 15020),
      readiness: portOf('READINESS_PORT', s('readiness-port', 'READINESS_PORT'), 15021),
      admin: portOf('ADMIN_PORT', s('admin-port', 'ADMIN_PORT'), 15000),
    },
    logLevel: level,
    logFormat: format === 'json' || format === 'pretty' ? format : undefined,
  };
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}
