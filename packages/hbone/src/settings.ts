/** ztunnel's HTTP/2 and TCP settings (config.rs, h2/*); see shared reference "HBONE". */
export const STREAM_WINDOW = 4 * 1024 * 1024;
export const CONNECTION_WINDOW = 16 * 1024 * 1024;
/** Largest frame we accept (ztunnel: 1 MiB); Node itself still sends 16 KiB DATA frames. */
export const MAX_FRAME_SIZE = 1024 * 1024;
export const SERVER_MAX_CONCURRENT_STREAMS = 200;
export const SERVER_MAX_HEADER_LIST = 64 * 1024;
export const CLIENT_MAX_HEADER_LIST = 16 * 1024;
export const PING_INTERVAL_MS = 10_000;
export const PING_TIMEOUT_MS = 20_000;
export const KEEPALIVE_IDLE_MS = 180_000;
export const HANDSHAKE_TIMEOUT_MS = 10_000;
export const CONNECT_TIMEOUT_MS = 10_000;
export const POOL_MAX_STREAMS_PER_CONNECTION = 100;
export const POOL_IDLE_TIMEOUT_MS = 5 * 60_000;
/** ztunnel's illegal ports: a CONNECT to the proxy's own ports would loop. */
export const DEFAULT_ILLEGAL_PORTS: readonly number[] = [15001, 15006, 15008];
/** Pump: how much may sit in a destination's write buffer before the source pauses. */
export const PUMP_BUFFER_LIMIT = 1024 * 1024;
/** Response header carrying why a CONNECT was refused, for debugging. */
export const REASON_HEADER = 'x-weft-reason';
