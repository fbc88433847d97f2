/**
 * weft-waypoint's configuration: environment variables with ztunnel/istio-proxy names, each overridable
 * by a --flag. Pure: main.ts passes process.env and argv in; everything else gets this typed object.
 */
import { WaypointError, WaypointErrorCode } from './errors.js';
import { GATEWAY_FLAGS, type GatewaySettings, parseGatewaySettings } from './gateway/settings.js';

export interface WaypointConfig {
  /** XDS_ADDRESS: pilot's discovery address (15010 plaintext, 15012 TLS). */
  readonly xdsAddress: string;
  /** Use TLS to pilot (default: unless the port is 15010). */
  readonly xdsTls: boolean;
  /** CA_ADDRESS: pilot's CA (default: XDS_ADDRESS with port 15012). */
  readonly caAddress: string;
  /** CA_ROOT_CERT: PEM file of the roots that verify pilot (and seed the trust bundle). */
  readonly caRootCert: string | undefined;
  /** CERT_DIR: file-mounted credentials (tls.crt, tls.key, ca.crt) instead of the CA. */
  readonly certDir: string | undefined;
  /** BOOTSTRAP_TOKEN_FILE (or TOKEN_FILE): bearer token for pilot (service-account or bootstrap token). */
  readonly tokenFile: string | undefined;
  readonly trustDomain: string;
  /** WAYPOINT_NAME (or GATEWAY_NAME): the Gateway this process implements. */
  readonly waypointName: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly podName: string;
  readonly podIp: string;
  readonly nodeName: string;
  readonly clusterId: string;
  readonly rootNamespace: string;
  readonly hbonePort: number;
  readonly listenHost: string;
  readonly adminPort: number;
  readonly metricsPort: number;
  readonly readinessPort: number;
  readonly logLevel: string;
  readonly accessLog: boolean;
  /** JWKS_CA_CERT: extra roots for HTTPS jwksUri servers (PEM file). */
  readonly jwksCaCert: string | undefined;
  /** REQUEST_TIMEOUT: whole-request timeout in ms (0 = none). */
  readonly requestTimeoutMs: number;
  /** GATEWAY_MODE=ingress|egress and its settings; undefined when running as a waypoint. */
  readonly gateway: GatewaySettings | undefined;
}

type Source = Readonly<Record<string, string | undefined>>;

/** --flag value / --flag=value → { flag: value }. */
export function parseFlags(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--'))
      throw new WaypointError(WaypointErrorCode.BadConfig, `unexpected argument "${a}"`);
    const eq = a.indexOf('=');
    if (eq !== -1) out[a.slice(2, eq)] = a.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) out[a.slice(2)] = 'true';
      else {
        out[a.slice(2)] = next;
        i++;
      }
    }
  }
  return out;
}

const FLAGS: Record<string, string> = {
  'xds-address': 'XDS_ADDRESS',
  'xds-tls': 'XDS_TLS',
  'ca-address': 'CA_ADDRESS',
  'ca-root-cert': 'CA_ROOT_CERT',
  'cert-dir': 'CERT_DIR',
  'token-file': 'BOOTSTRAP_TOKEN_FILE',
  'trust-domain': 'TRUST_DOMAIN',
  name: 'WAYPOINT_NAME',
  namespace: 'POD_NAMESPACE',
  'service-account': 'SERVICE_ACCOUNT',
  'pod-name': 'POD_NAME',
  'pod-ip': 'POD_IP',
  'node-name': 'NODE_NAME',
  'cluster-id': 'CLUSTER_ID',
  'root-namespace': 'ROOT_NAMESPACE',
  'hbone-port': 'HBONE_PORT',
  'listen-host': 'LISTEN_HOST',
  'admin-port': 'ADMIN_PORT',
  'metrics-port': 'METRICS_PORT',
  'readiness-port': 'READINESS_PORT',
  'log-level': 'LOG_LEVEL',
  'access-log': 'ACCESS_LOG',
  'jwks-ca-cert': 'JWKS_CA_CERT',
  'request-timeout': 'REQUEST_TIMEOUT',
  ...GATEWAY_FLAGS,
};

export const USAGE = `weft-waypoint: the L7 proxy (waypoint), and the ingress / egress gateway (--mode)

Every setting is an environment variable; a flag (--name value or --name=value) overrides it.
  --xds-address H:P          XDS_ADDRESS              pilot's xDS                     [localhost:15010]
  --xds-tls true|false       XDS_TLS                  [with CA_ROOT_CERT, unless the port is 15010]
  --ca-address H:P           CA_ADDRESS               pilot's CA                      [xDS host:15012]
  --ca-root-cert FILE        CA_ROOT_CERT             pilot's root (PEM); or CERT_DIR
  --cert-dir DIR             CERT_DIR                 file-mounted tls.crt/tls.key/ca.crt instead of the CA
  --token-file FILE          BOOTSTRAP_TOKEN_FILE     bearer token for the CA and xDS (embedded mode)
  --trust-domain TD          TRUST_DOMAIN                                             [cluster.local]
  --name NAME                WAYPOINT_NAME            the Gateway this proxy serves   [waypoint]
  --namespace NS             POD_NAMESPACE                                            [default]
  --service-account SA       SERVICE_ACCOUNT          identity ns/<NS>/sa/<SA>        [the name]
  --pod-name / --pod-ip / --node-name / --cluster-id / --root-namespace
                             POD_NAME POD_IP NODE_NAME CLUSTER_ID ROOT_NAMESPACE
  --hbone-port N             HBONE_PORT                                               [15008]
  --listen-host ADDR         LISTEN_HOST                                              [0.0.0.0]
  --admin-port N / --metrics-port N / --readiness-port N                  [15000 / 15020 / 15021]
  --log-level L              LOG_LEVEL                                                [info]
  --access-log true|false    ACCESS_LOG               one line per request            [true]
  --jwks-ca-cert FILE        JWKS_CA_CERT             roots for fetching jwksUri over HTTPS
  --request-timeout MS       REQUEST_TIMEOUT          upstream timeout, 0 = none       [0]
Gateway mode:
  --mode M                   GATEWAY_MODE             waypoint | ingress | egress     [waypoint]
  --gateway-ports P:Q,...    GATEWAY_PORTS            Gateway port → listening port
  --credentials-dir DIR      GATEWAY_CREDENTIALS_DIR  credentialName → DIR/<name>/{tls.crt,tls.key,ca.crt}
  --gateway-config-dir DIR   GATEWAY_CONFIG_DIR       Gateway/VirtualService YAML without pilot
  --outbound-traffic-policy  OUTBOUND_TRAFFIC_POLICY  ALLOW_ANY | REGISTRY_ONLY (egress) [ALLOW_ANY]
  --gateway-labels k=v,...   GATEWAY_LABELS           labels Gateway selectors match
  --gateway-alpn LIST        GATEWAY_ALPN             h2 and/or http/1.1              [http/1.1]
`;

/** `--help` / `-h` anywhere on the command line. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/** Every flag the parser accepts, without the dashes (for tests and the help text). */
export const FLAG_NAMES: readonly string[] = Object.keys(FLAGS);

function port(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new WaypointError(
      WaypointErrorCode.BadConfig,
      `${name} must be a port number 0-65535 (got "${v}")`,
    );
  }
  return n;
}

function bool(name: string, v: string | undefined, fallback: boolean): boolean {
  if (v === undefined || v === '') return fallback;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new WaypointError(WaypointErrorCode.BadConfig, `${name} must be true or false (got "${v}")`);
}

/** Environment + flags (flags win) → a validated config. */
export function parseConfig(env: Source, argv: readonly string[] = []): WaypointConfig {
  const flags = parseFlags(argv);
  const merged: Record<string, string | undefined> = { ...env };
  for (const [flag, value] of Object.entries(flags)) {
    const name = FLAGS[flag];
    if (name === undefined) {
      throw new WaypointError(
        WaypointErrorCode.BadConfig,
        `unknown flag --${flag}; known: ${Object.keys(FLAGS)
          .map((f) => `--${f}`)
          .join(', ')}`,
      );
    }
    merged[name] = value;
  }
  const get = (name: string): string | undefined => {
    const v = merged[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const xdsAddress = get('XDS_ADDRESS') ?? 'localhost:15010';
  if (!/^.+:\d+$/.test(xdsAddress)) {
    throw new WaypointError(
      WaypointErrorCode.BadConfig,
      `XDS_ADDRESS must be host:port (got "${xdsAddress}")`,
    );
  }
  const caRootCert = get('CA_ROOT_CERT');
  const xdsTls = bool('XDS_TLS', get('XDS_TLS'), caRootCert !== undefined && !xdsAddress.endsWith(':15010'));
  const certDir = get('CERT_DIR');
  if (xdsTls && caRootCert === undefined) {
    throw new WaypointError(
      WaypointErrorCode.BadConfig,
      'XDS over TLS needs CA_ROOT_CERT (the PEM roots that verify pilot)',
    );
  }
  if (certDir === undefined && caRootCert === undefined) {
    throw new WaypointError(
      WaypointErrorCode.BadConfig,
      'set CA_ROOT_CERT (certificates from pilot) or CERT_DIR (file-mounted tls.crt/tls.key/ca.crt)',
    );
  }
  const waypointName = get('WAYPOINT_NAME') ?? get('GATEWAY_NAME') ?? 'waypoint';
  const namespace = get('POD_NAMESPACE') ?? 'default';
  const timeout = get('REQUEST_TIMEOUT');
  const requestTimeoutMs = timeout === undefined ? 0 : Number(timeout);
  if (!Number.isFinite(requestTimeoutMs) || requestTimeoutMs < 0) {
    throw new WaypointError(
      WaypointErrorCode.BadConfig,
      `REQUEST_TIMEOUT must be milliseconds >= 0 (got "${timeout}")`,
    );
  }
  const logLevel = get('LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new WaypointError(
      WaypointErrorCode.BadConfig,
      `LOG_LEVEL must be one of fatal,error,warn,info,debug,trace,silent (got "${logLevel}")`,
    );
  }
  return {
    xdsAddress,
    xdsTls,
    caAddress: get('CA_ADDRESS') ?? xdsAddress.replace(/:\d+$/, ':15012'),
    caRootCert,
    certDir,
    tokenFile: get('BOOTSTRAP_TOKEN_FILE') ?? get('TOKEN_FILE'),
    trustDomain: get('TRUST_DOMAIN') ?? 'cluster.local',
    waypointName,
    namespace,
    serviceAccount: get('SERVICE_ACCOUNT') ?? waypointName,
    podName: get('POD_NAME') ?? waypointName,
    podIp: get('POD_IP') ?? get('INSTANCE_IP') ?? '127.0.0.1',
    nodeName: get('NODE_NAME') ?? 'local',
    clusterId: get('CLUSTER_ID') ?? 'Kubernetes',
    rootNamespace: get('ROOT_NAMESPACE') ?? 'istio-system',
    hbonePort: port('HBONE_PORT', get('HBONE_PORT'), 15008),
    listenHost: get('LISTEN_HOST') ?? '0.0.0.0',
    adminPort: port('ADMIN_PORT', get('ADMIN_PORT'), 15000),
    metricsPort: port('METRICS_PORT', get('METRICS_PORT'), 15020),
    readinessPort: port('READINESS_PORT', get('READINESS_PORT'), 15021),
    logLevel,
    accessLog: bool('ACCESS_LOG', get('ACCESS_LOG'), true),
    jwksCaCert: get('JWKS_CA_CERT'),
    requestTimeoutMs,
    gateway: parseGatewaySettings(get),
  };
}

/** The waypoint's SPIFFE ID. */
export function waypointIdentity(
  c: Pick<WaypointConfig, 'trustDomain' | 'namespace' | 'serviceAccount'>,
): string {
  return `spiffe://${c.trustDomain}/ns/${c.namespace}/sa/${c.serviceAccount}`;
}
