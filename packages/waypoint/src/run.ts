/**
 * The weft-waypoint process: certificates (from pilot's CA or files), discovery (delta xDS), the HBONE
 * listener on 15008 terminating into the L7 engine, pooled HBONE towards pods, admin/metrics/readiness.
 */
import { readFile } from 'node:fs/promises';
import {
  type CertificateClient,
  FileCertificateClient,
  startPilotCertificates,
  TrustDomains,
  tlsCredentials,
} from '@weft/certs';
import { createHbonePool, createHboneServer } from '@weft/hbone';
import { componentLogger, createRegistry, type Logger, Readiness, startAdminServers } from '@weft/telemetry';
import { errorMessage } from '@weft/telemetry/errors';
import { XdsClient } from '@weft/xds';
import { type WaypointConfig, waypointIdentity } from './config.js';
import { httpFetcher } from './jwks.js';
import { hboneConnector } from './upstream.js';
import { createWaypoint } from './waypoint.js';

export interface RunningWaypoint {
  readonly identity: string;
  readonly hbonePort: number;
  readonly adminPort: number | undefined;
  readonly metricsPort: number | undefined;
  readonly readinessPort: number | undefined;
  close(): Promise<void>;
}

export async function certificates(
  config: WaypointConfig,
  identity: string,
  logger: Logger,
  registry: ReturnType<typeof createRegistry>,
  token: () => string | undefined,
): Promise<{ client: CertificateClient; stop: () => void }> {
  if (config.certDir !== undefined) {
    const client = new FileCertificateClient({ dir: config.certDir, name: identity, logger, registry });
    await client.start();
    return { client, stop: () => client.close() };
  }
  const pilot = startPilotCertificates({
    address: config.caAddress,
    rootPem: await readFile(config.caRootCert as string, 'utf8'),
    token,
    clusterId: config.clusterId,
    impersonate: false,
    registry,
    logger,
  });
  return { client: pilot.client, stop: () => pilot.close() };
}

/** What both process modes start with: identity, bootstrap token, certificates and HBONE credentials. */
export async function startIdentity(
  config: WaypointConfig,
  logger: Logger,
  registry: ReturnType<typeof createRegistry>,
): Promise<{
  identity: string;
  token: () => string | undefined;
  certs: { client: CertificateClient; stop: () => void };
  credentials: Awaited<ReturnType<typeof tlsCredentials>>;
}> {
  const identity = waypointIdentity(config);
  const tokenText =
    config.tokenFile === undefined ? undefined : (await readFile(config.tokenFile, 'utf8')).trim();
  const token = () => tokenText;
  const certs = await certificates(config, identity, componentLogger(logger, 'certs'), registry, token);
  const credentials = await tlsCredentials(certs.client, identity, new TrustDomains(config.trustDomain));
  return { identity, token, certs, credentials };
}

/** The started delta xDS client of a waypoint or gateway; the role decides what pilot sends it. */
export async function startDiscovery(
  config: WaypointConfig,
  role: 'waypoint' | 'gateway',
  token: () => string | undefined,
  logger: Logger,
): Promise<XdsClient> {
  const rootPem = config.caRootCert === undefined ? undefined : await readFile(config.caRootCert, 'utf8');
  const xds = new XdsClient({
    address: config.xdsAddress,
    ...(config.xdsTls && rootPem !== undefined ? { tls: { ca: rootPem } } : {}),
    token,
    node: {
      id: `${role === 'gateway' ? 'router' : 'waypoint'}~${config.podIp}~${config.podName}.${config.namespace}~${config.namespace}.svc.cluster.local`,
      nodeName: config.nodeName,
      role,
      namespace: config.namespace,
      metadata: {
        [role === 'gateway' ? 'GATEWAY_NAME' : 'WAYPOINT_NAME']: config.waypointName,
        SERVICE_ACCOUNT: config.serviceAccount,
      },
    },
    logger: componentLogger(logger, 'xds'),
  });
  xds.start();
  return xds;
}

export async function runWaypoint(config: WaypointConfig, logger: Logger): Promise<RunningWaypoint> {
  const registry = createRegistry({ defaultLabels: { component: 'weft-waypoint' } });
  const readiness = new Readiness();
  readiness.require('certificate', 'waiting for the first certificate');
  readiness.require('xds', 'waiting for the first discovery state');
  const log = componentLogger(logger, 'main');
  const { identity, token, certs, credentials } = await startIdentity(config, logger, registry);
  readiness.markReady('certificate');

  const xds = await startDiscovery(config, 'waypoint', token, logger);
  void xds.whenSynced().then(() => readiness.markReady('xds'));

  const pool = createHbonePool({ credentials, logger });
  const jwksCa = config.jwksCaCert === undefined ? undefined : await readFile(config.jwksCaCert, 'utf8');
  const waypoint = createWaypoint({
    view: xds.store,
    waypoint: { name: config.waypointName, namespace: config.namespace },
    connector: hboneConnector({ pool }),
    registry,
    logger,
    accessLog: config.accessLog,
    limits: { requestTimeoutMs: config.requestTimeoutMs },
    jwksFetcher: httpFetcher(jwksCa === undefined ? {} : { ca: jwksCa }),
    rootNamespace: config.rootNamespace,
    clusterId: config.clusterId,
  });
  const server = createHboneServer({ credentials, handler: waypoint.connectHandler, logger });
  const bound = await server.listen({ port: config.hbonePort, host: config.listenHost });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      log.info('draining');
      await server.drain(5_000);
      await pool.drain(2_000);
      waypoint.close();
      await xds.close();
      certs.stop();
      await admin.close();
    })();
    return closing;
  };
  const admin = await startAdminServers({
    logger,
    registry,
    readiness,
    configDump: () => ({
      identity,
      config: { ...config },
      xds: xds.stats,
      ...(waypoint.configDump() as object),
    }),
    ports: { admin: config.adminPort, metrics: config.metricsPort, readiness: config.readinessPort },
    onQuit: () => {
      close().catch((err: unknown) => log.error({ err: errorMessage(err) }, 'shutdown failed'));
    },
  });
  log.info(
    {
      identity,
      hbonePort: bound?.port,
      waypoint: `${config.namespace}/${config.waypointName}`,
      xds: config.xdsAddress,
    },
    'weft-waypoint listening',
  );
  return {
    identity,
    hbonePort: bound?.port ?? config.hbonePort,
    adminPort: admin.adminPort,
    metricsPort: admin.metricsPort,
    readinessPort: admin.readinessPort,
    close,
  };
}
