import { existsSync } from 'node:fs';
import type { Clock } from '@weft/certs';
import type { AdminHandler, Logger, Registry } from '@weft/telemetry';
import { caAdminRoutes } from './admin.js';
import type { CallerAuthenticator } from './authn.js';
import { CertificateAuthority } from './authority.js';
import type { WorkloadPlacement } from './authz.js';
import { type PluginWatch, watchPluginCa } from './plugin-watch.js';
import { type CaServer, startCaServer } from './server.js';
import { type CaStore, DirectoryCaStore, holdsPluginCa, loadPluginCa } from './store.js';

export { caAdminRoutes } from './admin.js';
export {
  BootstrapTokenAuthenticator,
  type Caller,
  type CallerAuthenticator,
  type CallerCredentials,
  type TokenGrant,
  TokenReviewAuthenticator,
  type TokenReviewOptions,
} from './authn.js';
export {
  type CaChange,
  type CaRootStatus,
  type CaStatus,
  CertificateAuthority,
  type CertificateAuthorityOptions,
  MAX_CSR_BYTES,
  type PluginReloadStatus,
} from './authority.js';
export { authorizeIssue, staticPlacement, type WorkloadPlacement } from './authz.js';
export { type CaMetrics, caMetrics } from './metrics.js';
export { type PluginWatch, type PluginWatchOptions, watchPluginCa } from './plugin-watch.js';
export type { CaState, RotationPhase, RotationStage, StoredRoot } from './rotation.js';
export {
  type HttpsSecretClientOptions,
  httpsSecretClient,
  SecretCaStore,
  type SecretClient,
} from './secret-store.js';
export { type CaServer, type CaServerOptions, startCaServer } from './server.js';
export { type CaStore, DirectoryCaStore, holdsPluginCa, loadPluginCa, type PluginCa } from './store.js';

export interface StartCaOptions {
  trustDomain?: string;
  /** Self-signed mode: where the root is kept (a directory path or any CaStore). */
  store?: CaStore | string;
  /**
   * Plug-in mode: a directory in Istio's cacerts layout; takes precedence over `store` when it holds any of
   * the files (like istiod with an optional `cacerts` Secret: empty or missing → self-signed). Followed
   * for changes while running.
   */
  pluginDir?: string;
  authenticator: CallerAuthenticator;
  placement: WorkloadPlacement;
  /** gRPC TLS port, default 15012 (0 = any). */
  port?: number;
  host?: string;
  defaultTtlSeconds?: number;
  maxTtlSeconds?: number;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  clock?: Clock;
  registry?: Registry;
  logger?: Logger;
}

export interface RunningCa {
  authority: CertificateAuthority;
  server: CaServer;
  /** Mount on pilot's admin server: `/ca/status`, `/ca/rotate`. */
  adminRoutes: Record<string, AdminHandler>;
  close(): Promise<void>;
}

/** Opens (or creates) the CA and serves it: what weft-pilot's main calls. */
export async function startCa(options: StartCaOptions): Promise<RunningCa> {
  const caOptions = {
    ...(options.trustDomain === undefined ? {} : { trustDomain: options.trustDomain }),
    ...(options.defaultTtlSeconds === undefined ? {} : { defaultTtlSeconds: options.defaultTtlSeconds }),
    ...(options.maxTtlSeconds === undefined ? {} : { maxTtlSeconds: options.maxTtlSeconds }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  };
  let authority: CertificateAuthority;
  let pluginWatch: PluginWatch | undefined;
  const pluginDir =
    options.pluginDir !== undefined && (await holdsPluginCa(options.pluginDir))
      ? options.pluginDir
      : undefined;
  if (options.pluginDir !== undefined && pluginDir === undefined) {
    // An optional, absent cacerts Secret mounts as an empty directory; a missing directory is more likely a typo.
    const at = { dir: options.pluginDir };
    if (existsSync(options.pluginDir))
      options.logger?.info(at, 'no plug-in CA files (cacerts) there: signing with the self-signed root');
    else
      options.logger?.warn(at, 'the plug-in CA directory does not exist: signing with the self-signed root');
  }

  if (pluginDir !== undefined) {
    authority = CertificateAuthority.fromPlugin(await loadPluginCa(pluginDir), caOptions);
    pluginWatch = watchPluginCa(pluginDir, authority, {
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
  } else {
    const store =
      typeof options.store === 'string'
        ? new DirectoryCaStore(options.store)
        : (options.store ?? new DirectoryCaStore('./var/lib/weft/ca'));
    authority = await CertificateAuthority.open(store, caOptions);
  }
  const server = await startCaServer({
    ca: authority,
    authenticator: options.authenticator,
    placement: options.placement,
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.dnsNames === undefined ? {} : { dnsNames: options.dnsNames }),
    ...(options.ipAddresses === undefined ? {} : { ipAddresses: options.ipAddresses }),
    ...(options.registry === undefined ? {} : { registry: options.registry }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  return {
    authority,
    server,
    adminRoutes: caAdminRoutes(authority),
    close: () => {
      pluginWatch?.close();
      return server.close();
    },
  };
}
