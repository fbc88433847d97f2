import { readFile } from 'node:fs/promises';
import {
  componentLogger,
  createLogger,
  createRegistry,
  errorMessage,
  type Logger,
  Readiness,
  startAdminServers,
  WeftError,
} from '@weft/telemetry';
import type { XdsServer } from '@weft/xds';
import {
  BootstrapTokenAuthenticator,
  type CallerAuthenticator,
  type CaStore,
  httpsSecretClient,
  type RunningCa,
  SecretCaStore,
  startCa,
  TokenReviewAuthenticator,
} from './ca/index.js';
import { type PilotConfig, parsePilotConfig, USAGE, wantsHelp } from './config.js';
import { Discovery } from './discovery.js';
import { startSecurePort } from './secure-port.js';
import { DirectorySource } from './sources/directory.js';
import { KubernetesSource } from './sources/kubernetes.js';
import type { ConfigSource } from './sources/source.js';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Refuses every caller, with the reason: a CA with no way to authenticate must not issue anything. */
function refuseAll(why: string): CallerAuthenticator {
  return {
    authenticate: async () => {
      throw new WeftError('WEFT_CA_UNAUTHENTICATED', why);
    },
  };
}

/** The API server and pilot's service-account credentials, when running in a cluster. */
async function inCluster(
  env: NodeJS.ProcessEnv,
): Promise<{ apiServer: string; token: () => Promise<string>; caPem: string } | undefined> {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (host === undefined || host === '') return undefined;
  return {
    apiServer: `https://${host.includes(':') ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`,
    token: () => readFile(`${SA_DIR}/token`, 'utf8').then((t) => t.trim()),
    caPem: await readFile(`${SA_DIR}/ca.crt`, 'utf8'),
  };
}

/** Where the self-signed root lives: a Kubernetes Secret (CA_SECRET, in cluster) or a directory. */
async function caStoreFor(config: PilotConfig, env: NodeJS.ProcessEnv): Promise<CaStore | string> {
  const secret = config.ca.secret;
  if (secret === undefined) return config.ca.dir;
  const cluster = await inCluster(env);
  if (cluster === undefined)
    throw new WeftError(
      'WEFT_PILOT_BAD_CONFIG',
      `CA_SECRET ${secret.namespace}/${secret.name} needs in-cluster credentials (KUBERNETES_SERVICE_HOST and a service account); use CA_DIR outside a cluster`,
    );
  return new SecretCaStore(httpsSecretClient(cluster), secret.namespace, secret.name);
}

async function authenticatorFor(config: PilotConfig, env: NodeJS.ProcessEnv): Promise<CallerAuthenticator> {
  if (config.ca.bootstrapTokensFile !== undefined)
    return BootstrapTokenAuthenticator.fromFile(config.ca.bootstrapTokensFile);
  const cluster = config.source === 'kubernetes' ? await inCluster(env) : undefined;
  if (cluster !== undefined) {
    return new TokenReviewAuthenticator({
      ...cluster,
      trustDomain: config.trustDomain,
      trustedNodeAccounts: config.ca.trustedNodeAccounts,
    });
  }
  return refuseAll(
    'no caller authentication configured: set BOOTSTRAP_TOKENS_FILE (embedded mode) or run in Kubernetes',
  );
}

/** A running pilot, for tests and embedding; `main` runs one until SIGTERM. */
export interface RunningPilot {
  discovery: Discovery;
  xds: XdsServer;
  xdsPort: number | undefined;
  /** xDS + CA over TLS (15012), when the CA runs. */
  securePort: number | undefined;
  adminPort: number | undefined;
  readinessPort: number | undefined;
  metricsPort: number | undefined;
  close(): Promise<void>;
}

export async function startPilot(
  config: PilotConfig,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningPilot> {
  const registry = createRegistry({ defaultLabels: { component: 'weft-pilot' } });
  const readiness = new Readiness();
  readiness.require('config', 'loading config');
  readiness.require('xds', 'not listening');
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'shutdown step failed');
      }
    }
  };
  try {
    const source: ConfigSource =
      config.source === 'kubernetes'
        ? new KubernetesSource({
            ...(config.kubeconfig === undefined ? {} : { kubeconfig: config.kubeconfig }),
            logger: componentLogger(logger, 'kubernetes'),
          })
        : new DirectorySource({ dir: config.configDir, logger: componentLogger(logger, 'config') });
    const discovery = new Discovery({
      sources: [source],
      translate: {
        clusterId: config.clusterId,
        trustDomain: config.trustDomain,
        rootNamespace: config.rootNamespace,
        domainSuffix: config.domainSuffix,
      },
      logger: componentLogger(logger, 'discovery'),
      registry,
      debounceMs: config.debounceMs,
      maxDelayMs: config.debounceMaxMs,
    });
    closers.push(() => discovery.close());
    const xds = discovery.createServer({ logger: componentLogger(logger, 'xds') });
    closers.push(() => xds.close());

    let ca: RunningCa | undefined;
    let authenticator: CallerAuthenticator | undefined;
    if (config.ca.enabled) {
      authenticator = await authenticatorFor(config, env);
      // The CA listens on loopback; the secure port (15012) relays to it next to xDS over TLS.
      ca = await startCa({
        trustDomain: config.trustDomain,
        store: await caStoreFor(config, env),
        ...(config.ca.pluginDir === undefined ? {} : { pluginDir: config.ca.pluginDir }),
        authenticator,
        placement: discovery,
        port: 0,
        host: '127.0.0.1',
        registry,
        logger: componentLogger(logger, 'ca'),
      });
      closers.push(() => ca?.close() ?? Promise.resolve());
    }

    await discovery.start();
    readiness.markReady('config');
    logger.info(
      {
        workloads: discovery.state?.workloads.size,
        services: discovery.state?.services.size,
        policies: discovery.state?.authorizations.size,
        problems: discovery.problems.length,
      },
      'config loaded',
    );

    let xdsPort: number | undefined;
    if (config.xdsPort !== null) {
      xdsPort = await xds.listen({ port: config.xdsPort, host: config.host });
      logger.info({ port: xdsPort }, 'xDS (plaintext) listening');
    }
    let securePort: number | undefined;
    if (ca !== undefined && authenticator !== undefined) {
      const auth = authenticator;
      const secureXds = discovery.createServer({
        logger: componentLogger(logger, 'xds'),
        // Over TLS, clients authenticate like they do to the CA: `authorization: Bearer <token>`.
        authenticate: async ({ metadata }) => {
          const header = metadata.get('authorization')[0];
          const token = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() : undefined;
          const cluster = metadata.get('clusterid')[0];
          return auth.authenticate({ token, clusterId: typeof cluster === 'string' ? cluster : undefined });
        },
      });
      closers.push(() => secureXds.close());
      const secure = await startSecurePort({
        authority: ca.authority,
        caPort: ca.server.port,
        xds: secureXds,
        port: config.securePort,
        host: config.host,
        logger: componentLogger(logger, 'secure'),
      });
      closers.push(() => secure.close());
      securePort = secure.port;
    }
    readiness.markReady('xds');

    const admin = await startAdminServers({
      logger,
      registry,
      readiness,
      configDump: () => ({
        discovery: discovery.dump(),
        ...(ca === undefined ? {} : { ca: ca.authority.status() }),
        ...(source instanceof KubernetesSource ? { informers: source.stats() } : {}),
      }),
      ports: config.ports,
      // Metrics and readiness listen where xDS does (--host); admin stays on loopback.
      host: config.host,
      ...(ca === undefined ? {} : { adminRoutes: ca.adminRoutes }),
    });
    closers.push(() => admin.close());
    logger.info(
      {
        admin: admin.adminPort,
        readiness: admin.readinessPort,
        metrics: admin.metricsPort,
        ca: ca?.server.port,
      },
      'weft-pilot ready',
    );
    return {
      discovery,
      xds,
      xdsPort,
      securePort,
      adminPort: admin.adminPort,
      readinessPort: admin.readinessPort,
      metricsPort: admin.metricsPort,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Entry point of weft-pilot: parses argv/env into a typed config and runs until SIGTERM/SIGINT. */
export async function main(argv: readonly string[]): Promise<void> {
  if (wantsHelp(argv)) {
    process.stdout.write(USAGE);
    return;
  }
  let config: PilotConfig;
  try {
    config = parsePilotConfig(argv, process.env);
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\n`);
    process.exitCode = 2;
    return;
  }
  const logger = createLogger({
    name: 'weft-pilot',
    level: config.logLevel,
    ...(config.logFormat === undefined ? {} : { format: config.logFormat }),
  });
  let pilot: RunningPilot;
  try {
    pilot = await startPilot(config, logger);
  } catch (err) {
    logger.fatal(
      { err: errorMessage(err), code: err instanceof WeftError ? err.code : undefined },
      'weft-pilot failed to start',
    );
    process.exitCode = 1;
    return;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      pilot.close().then(resolve, resolve);
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  logger.info('weft-pilot stopped');
}
