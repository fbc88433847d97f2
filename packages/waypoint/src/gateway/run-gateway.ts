/**
 * weft-waypoint in gateway mode (GATEWAY_MODE=ingress|egress): the mesh certificate (pilot's CA or
 * CERT_DIR), discovery from pilot (role "gateway", so credentialName Secrets arrive too) or from
 * GATEWAY_CONFIG_DIR, the Gateway ports, HBONE 15008 in (mesh workloads → egress), pooled HBONE out,
 * admin/metrics/readiness.
 */
import { readFile } from 'node:fs/promises';
import { createHbonePool, createHboneServer } from '@weft/hbone';
import { componentLogger, createRegistry, type Logger, Readiness, startAdminServers } from '@weft/telemetry';
import { errorMessage } from '@weft/telemetry/errors';
import type { WaypointConfig } from '../config.js';
import { httpFetcher } from '../jwks.js';
import type { MeshView } from '../mesh-view.js';
import { type RunningWaypoint, startDiscovery, startIdentity } from '../run.js';
import { hboneConnector } from '../upstream.js';
import {
  CombinedCredentials,
  type CredentialSource,
  FileCredentials,
  SecretCredentials,
} from './credentials.js';
import { DirectoryMeshView } from './file-view.js';
import { createGateway } from './gateway.js';
import type { GatewaySettings } from './settings.js';

export interface RunningGateway extends RunningWaypoint {
  /** Gateway port → bound port. */
  readonly gatewayPorts: ReadonlyMap<number, number>;
}

export async function runGateway(
  config: WaypointConfig,
  settings: GatewaySettings,
  logger: Logger,
): Promise<RunningGateway> {
  const registry = createRegistry({ defaultLabels: { component: `weft-${settings.mode}-gateway` } });
  const readiness = new Readiness();
  readiness.require('certificate', 'waiting for the first certificate');
  readiness.require('config', 'waiting for the first configuration');
  const log = componentLogger(logger, 'main');
  const { identity, token, certs, credentials } = await startIdentity(config, logger, registry);
  readiness.markReady('certificate');

  let view: MeshView;
  let stopView: () => Promise<void>;
  let xdsStats: () => unknown = () => undefined;
  if (settings.configDir !== undefined) {
    const dirView = new DirectoryMeshView(settings.configDir, componentLogger(logger, 'config'));
    await dirView.start();
    readiness.markReady('config');
    view = dirView;
    stopView = async () => dirView.close();
  } else {
    const xds = await startDiscovery(config, 'gateway', token, logger);
    void xds.whenSynced().then(() => readiness.markReady('config'));
    view = xds.store;
    stopView = () => xds.close();
    xdsStats = () => xds.stats;
  }

  const secrets = new SecretCredentials(() => view.configs, config.namespace);
  view.onChange(() => secrets.changed());
  const sources: CredentialSource[] = [];
  if (settings.credentialsDir !== undefined)
    sources.push(
      new FileCredentials({ dir: settings.credentialsDir, logger: componentLogger(logger, 'credentials') }),
    );
  sources.push(secrets);

  const pool = createHbonePool({ credentials, logger });
  const jwksCa = config.jwksCaCert === undefined ? undefined : await readFile(config.jwksCaCert, 'utf8');
  const gateway = createGateway({
    mode: settings.mode,
    view,
    name: config.waypointName,
    namespace: config.namespace,
    ...(settings.labels === undefined ? {} : { labels: { ...settings.labels } }),
    connector: hboneConnector({ pool }),
    credentials: new CombinedCredentials(sources),
    meshContext: () => credentials.secureContext(),
    registry,
    logger,
    accessLog: config.accessLog,
    limits: { requestTimeoutMs: config.requestTimeoutMs },
    jwksFetcher: httpFetcher(jwksCa === undefined ? {} : { ca: jwksCa }),
    rootNamespace: config.rootNamespace,
    listenHost: config.listenHost,
    portMap: (p) => settings.portMap.get(p) ?? p,
    alpn: settings.alpn,
    outboundTrafficPolicy: settings.outboundTrafficPolicy,
  });
  await gateway.start();
  const server = createHboneServer({ credentials, handler: gateway.connectHandler, logger });
  const bound = await server.listen({ port: config.hbonePort, host: config.listenHost });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      log.info('draining');
      await server.drain(5_000);
      await gateway.close();
      await pool.drain(2_000);
      await stopView();
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
      xds: xdsStats(),
      ...(gateway.configDump() as object),
    }),
    ports: { admin: config.adminPort, metrics: config.metricsPort, readiness: config.readinessPort },
    onQuit: () => {
      close().catch((err: unknown) => log.error({ err: errorMessage(err) }, 'shutdown failed'));
    },
  });
  log.info(
    {
      identity,
      mode: settings.mode,
      ports: Object.fromEntries(gateway.boundPorts()),
      hbonePort: bound?.port,
      gateway: `${config.namespace}/${config.waypointName}`,
    },
    `weft-waypoint ${settings.mode} gateway listening`,
  );
  return {
    identity,
    hbonePort: bound?.port ?? config.hbonePort,
    adminPort: admin.adminPort,
    metricsPort: admin.metricsPort,
    readinessPort: admin.readinessPort,
    gatewayPorts: gateway.boundPorts(),
    close,
  };
}
