import { type ChannelCredentials, credentials } from '@grpc/grpc-js';

/** How to reach pilot's TLS port (15012). */
export interface PilotConnection {
  /** host:port, e.g. weft-pilot.weft-system.svc:15012 or 127.0.0.1:15012. */
  address: string;
  /** PEM roots that verify pilot's serving certificate (the trust bundle's). Called per (re)connect. */
  roots: () => readonly string[];
  /** TLS name to verify when it differs from the address host (grpc.ssl_target_name_override). */
  serverName?: string;
  /** Bearer token for `authorization` (the agent's service-account or bootstrap token). */
  token?: () => string | undefined | Promise<string | undefined>;
  /** `clusterid` metadata, default "Kubernetes" (Istio's default CLUSTER_ID). */
  clusterId?: string;
}

export function channelCredentials(conn: PilotConnection): ChannelCredentials {
  return credentials.createSsl(Buffer.from(conn.roots().join('')));
}

export function channelOptions(conn: PilotConnection): Record<string, string | number> {
  const opts: Record<string, string | number> = {
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
    'grpc.keepalive_time_ms': 30_000,
  };
  if (conn.serverName !== undefined) {
    opts['grpc.ssl_target_name_override'] = conn.serverName;
    opts['grpc.default_authority'] = conn.serverName;
  }
  return opts;
}
