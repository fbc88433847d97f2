import { availableParallelism, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { isLogLevel, type LogLevel } from '@weft/telemetry';
import { NodeAgentError, NodeErrorCode } from './errors.js';

/** weft-node's whole configuration, from env (ztunnel/istiod names) and `--flag value` argv overrides. */
export interface NodeConfig {
  /** host:port of pilot's xDS (15010 plaintext, 15012 TLS). */
  xdsAddress: string;
  /** host:port of pilot's CA (15012). */
  caAddress: string;
  /** Pilot's root certificate (PEM file) to trust on 15012 (CA, and xDS over TLS). */
  caRootCertFile: string | undefined;
  /** xDS over TLS (default: when a root is given and the xDS port is not the plaintext 15010). */
  xdsTls: boolean;
  trustDomain: string;
  nodeName: string;
  clusterId: string;
  /** Bootstrap token file for the CA and xDS (`authorization: Bearer`). */
  tokenFile: string | undefined;
  /** Unix socket for pod lifecycle messages (weft-cni, demo, tests). */
  socketPath: string;
  /**
   * Where enrolled pods are remembered, so a restarted agent re-binds their listeners before anyone
   * resends them (weft-cni only calls at pod creation). Default: next to the socket, per node.
   */
  stateFile: string;
  ports: { admin: number; metrics: number; readiness: number };
  workerThreads: number;
  logLevel: LogLevel;
  /** Requested workload certificate lifetime in seconds (SECRET_TTL). */
  secretTtlSeconds: number;
  /** How long draining waits for open connections on SIGTERM. */
  drainSeconds: number;
  /** Remove capture rules from every pod on exit (uninstall); off for restarts and upgrades (fail closed). */
  uninstallOnExit: boolean;
}

const FLAGS: Record<string, string> = {
  '--xds-address': 'XDS_ADDRESS',
  '--ca-address': 'CA_ADDRESS',
  '--ca-root-cert': 'CA_ROOT_CERT',
  '--xds-tls': 'XDS_TLS',
  '--trust-domain': 'TRUST_DOMAIN',
  '--node-name': 'NODE_NAME',
  '--cluster-id': 'CLUSTER_ID',
  '--token-file': 'BOOTSTRAP_TOKEN_FILE',
  '--socket': 'LIFECYCLE_SOCKET',
  '--state-file': 'STATE_FILE',
  '--admin-port': 'ADMIN_PORT',
  '--metrics-port': 'METRICS_PORT',
  '--readiness-port': 'READINESS_PORT',
  '--workers': 'WORKER_THREADS',
  '--log-level': 'LOG_LEVEL',
  '--secret-ttl': 'SECRET_TTL',
  '--drain-seconds': 'DRAIN_SECONDS',
  '--uninstall-on-exit': 'UNINSTALL_ON_EXIT',
};

export const USAGE = `weft-node: the per-node agent (in-pod capture, HBONE mutual TLS, L4 authorization)

Every setting is an environment variable (ztunnel/istiod names); a flag overrides it.
  --xds-address H:P        XDS_ADDRESS           pilot's xDS                       [127.0.0.1:15010]
  --ca-address H:P         CA_ADDRESS            pilot's CA                        [127.0.0.1:15012]
  --ca-root-cert FILE      CA_ROOT_CERT          pilot's root (PEM) for 15012
  --xds-tls true|false     XDS_TLS               xDS over TLS      [with a root, unless the port is 15010]
  --trust-domain TD        TRUST_DOMAIN                                            [cluster.local]
  --node-name NAME         NODE_NAME                                               [hostname]
  --cluster-id ID          CLUSTER_ID                                              [Kubernetes]
  --token-file FILE        BOOTSTRAP_TOKEN_FILE  bearer token for the CA and xDS (embedded mode)
  --socket PATH            LIFECYCLE_SOCKET      pod add/del from weft-cni         [/var/run/weft/node.sock]
  --state-file PATH        STATE_FILE            enrolled pods, for restarts       [next to the socket]
  --admin-port N / --metrics-port N / --readiness-port N                  [15000 / 15020 / 15021]
  --workers N              WORKER_THREADS        data-plane threads; 0 = main thread [1 per 4 cores, ≥ 1]
  --log-level L            LOG_LEVEL                                               [info]
  --secret-ttl D           SECRET_TTL            workload certificate lifetime     [24h]
  --drain-seconds D        DRAIN_SECONDS         drain on SIGTERM                  [5]
  --uninstall-on-exit      UNINSTALL_ON_EXIT     remove every pod's capture rules on exit
`;

/** `--help` / `-h` anywhere on the command line. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

function bad(message: string): NodeAgentError {
  return new NodeAgentError(NodeErrorCode.Config, message);
}

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw bad(`${name} must be a port number 0-65535 (got ${value})`);
  return n;
}

function seconds(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const m = /^(\d+)(s|m|h)?$/.exec(value);
  if (m?.[1] === undefined) throw bad(`${name} must be a duration like 30, 30s, 5m or 24h (got ${value})`);
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}

/** Parses env + argv (`--flag value` or `--flag=value`; flags win). Throws WEFT_NODE_CONFIG. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): NodeConfig {
  const values: Record<string, string | undefined> = { ...env };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const key = FLAGS[flag];
    if (key === undefined) throw bad(`unknown flag ${flag}; known: ${Object.keys(FLAGS).join(' ')}`);
    if (flag === '--uninstall-on-exit' && eq === -1) {
      values[key] = 'true';
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw bad(`${flag} needs a value`);
    values[key] = value;
  }
  const logLevel = values.LOG_LEVEL ?? 'info';
  if (!isLogLevel(logLevel)) throw bad(`LOG_LEVEL must be one of fatal,error,warn,info,debug,trace,silent`);
  const workers = values.WORKER_THREADS;
  const workerThreads = workers === undefined || workers === '' ? defaultWorkerThreads() : Number(workers);
  if (!Number.isInteger(workerThreads) || workerThreads < 0 || workerThreads > 256)
    throw bad(`WORKER_THREADS must be an integer 0-256 (got ${workers})`);
  const xdsAddress = values.XDS_ADDRESS ?? '127.0.0.1:15010';
  const socketPath = values.LIFECYCLE_SOCKET ?? '/var/run/weft/node.sock';
  const nodeName = values.NODE_NAME ?? hostname();
  const caRootCertFile = values.CA_ROOT_CERT === '' ? undefined : values.CA_ROOT_CERT;
  const xdsTls =
    values.XDS_TLS === undefined || values.XDS_TLS === ''
      ? caRootCertFile !== undefined && !xdsAddress.endsWith(':15010')
      : values.XDS_TLS === 'true' || values.XDS_TLS === '1';
  return {
    xdsAddress,
    caAddress: values.CA_ADDRESS ?? '127.0.0.1:15012',
    caRootCertFile,
    xdsTls,
    trustDomain: values.TRUST_DOMAIN ?? 'cluster.local',
    nodeName,
    clusterId: values.CLUSTER_ID ?? 'Kubernetes',
    tokenFile: values.BOOTSTRAP_TOKEN_FILE === '' ? undefined : values.BOOTSTRAP_TOKEN_FILE,
    socketPath,
    stateFile: values.STATE_FILE || join(dirname(socketPath), `pods-${nodeName}.json`),
    ports: {
      admin: port(values.ADMIN_PORT, 15000, 'ADMIN_PORT'),
      metrics: port(values.METRICS_PORT, 15020, 'METRICS_PORT'),
      readiness: port(values.READINESS_PORT, 15021, 'READINESS_PORT'),
    },
    workerThreads,
    logLevel,
    secretTtlSeconds: seconds(values.SECRET_TTL, 86400, 'SECRET_TTL'),
    drainSeconds: seconds(values.DRAIN_SECONDS, 5, 'DRAIN_SECONDS'),
    uninstallOnExit: values.UNINSTALL_ON_EXIT === 'true' || values.UNINSTALL_ON_EXIT === '1',
  };
}

/**
 * One data-plane thread per 4 cores, at least one (ztunnel: at least two). Our threads do not steal work
 * from each other, so on a small node a second one mostly adds an event loop that wakes for the same light
 * load: bench/l4-path measured 2 threads at ~1.7x the CPU per request of 1 on 2 cores, with no throughput
 * gain there (the other processes share the same cores). WORKER_THREADS=2 gets ztunnel's choice back.
 */
export function defaultWorkerThreads(cores = availableParallelism()): number {
  return Math.max(1, Math.ceil(cores / 4));
}
