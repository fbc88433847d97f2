import type { Logger, Registry } from '@weft/telemetry';
import { TrustBundleWatcher } from './bundle-watch.js';
import { IstioCaClient } from './ca-client.js';
import type { Clock } from './clock.js';
import { CertificateManager } from './manager.js';
import { TrustBundle } from './trust-bundle.js';

export interface PilotCertificatesOptions {
  /** pilot's CA address (CA_ADDRESS), e.g. weft-pilot.weft-system.svc:15012. */
  address: string;
  /** Bootstrap roots (CA_ROOT_CERT file contents): verify pilot until its bundle stream takes over. */
  rootPem: string | readonly string[];
  token?: () => string | undefined | Promise<string | undefined>;
  clusterId?: string;
  serverName?: string;
  /** SECRET_TTL in seconds (default 24 h). */
  ttlSeconds?: number;
  /** Send ImpersonatedIdentity (node agents; default true). A waypoint may pass false. */
  impersonate?: boolean;
  clock?: Clock;
  registry?: Registry;
  logger?: Logger;
}

export interface PilotCertificates {
  /** The CertificateClient to hand to HBONE (via tlsCredentials) and admin dumps. */
  client: CertificateManager;
  bundle: TrustBundle;
  /** Resolves once pilot's bundle stream delivered the current roots. */
  ready: Promise<void>;
  close(): void;
}

/**
 * Everything an agent needs for certificates from pilot, wired together: the trust bundle (seeded from
 * the bootstrap root, then followed over WatchTrustBundle so staged root rotations reach it), the CA
 * client, and the caching certificate manager.
 */
export function startPilotCertificates(o: PilotCertificatesOptions): PilotCertificates {
  const bundle = new TrustBundle(o.rootPem);
  const conn = {
    address: o.address,
    roots: () => bundle.roots,
    ...(o.token === undefined ? {} : { token: o.token }),
    ...(o.clusterId === undefined ? {} : { clusterId: o.clusterId }),
    ...(o.serverName === undefined ? {} : { serverName: o.serverName }),
  };
  const watcher = new TrustBundleWatcher({
    ...conn,
    bundle,
    ...(o.clock === undefined ? {} : { clock: o.clock }),
    ...(o.logger === undefined ? {} : { logger: o.logger }),
  });
  const signer = new IstioCaClient({
    ...conn,
    ...(o.impersonate === undefined ? {} : { impersonate: o.impersonate }),
  });
  const client = new CertificateManager({
    signer,
    bundle,
    ...(o.ttlSeconds === undefined ? {} : { ttlSeconds: o.ttlSeconds }),
    ...(o.clock === undefined ? {} : { clock: o.clock }),
    ...(o.registry === undefined ? {} : { registry: o.registry }),
    ...(o.logger === undefined ? {} : { logger: o.logger }),
  });
  watcher.start();
  return {
    client,
    bundle,
    ready: watcher.ready,
    close() {
      client.close();
      watcher.stop();
      signer.close();
    },
  };
}
