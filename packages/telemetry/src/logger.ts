import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerConfig {
  /** The process name: weft-pilot, weft-node… */
  name: string;
  level?: LogLevel;
  /** json (default) or pretty; pretty is chosen automatically when stdout is a terminal. */
  format?: 'json' | 'pretty';
  /** Where lines go; stdout by default. Tests pass a stream to capture lines. */
  destination?: DestinationStream;
}

/** Keys that must never reach a log line, wherever they appear in the logged object. */
const REDACT = [
  'key',
  'privateKey',
  'private_key',
  '*.key',
  '*.privateKey',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
];

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/**
 * The root logger of a process. Components take a child with `logger.child({ component: 'hbone' })`
 * (see componentLogger) so their level can be changed at run time through /logging.
 */
export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    name: config.name,
    level: config.level ?? 'info',
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  const format =
    config.format ?? (process.stdout.isTTY && config.destination === undefined ? 'pretty' : 'json');
  if (config.destination !== undefined) return pino(options, config.destination);
  if (format === 'pretty') {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l' } },
    });
  }
  return pino(options);
}

const components = new WeakMap<Logger, Map<string, Logger>>();

/** One child logger per component, remembered so /logging can list and change them. */
export function componentLogger(root: Logger, component: string): Logger {
  let byName = components.get(root);
  if (byName === undefined) {
    byName = new Map();
    components.set(root, byName);
  }
  let child = byName.get(component);
  if (child === undefined) {
    child = root.child({ component });
    byName.set(component, child);
  }
  return child;
}

/** The component loggers made from `root`, by name. */
export function componentLoggers(root: Logger): ReadonlyMap<string, Logger> {
  return components.get(root) ?? new Map();
}

/** A logger that drops everything, for libraries used without one. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
