export {
  type AdminHandler,
  type AdminServers,
  type AdminServersOptions,
  startAdminServers,
} from './admin.js';
export { errorCode, errorMessage, isWeftError, WeftError } from './errors.js';
export {
  componentLogger,
  componentLoggers,
  createLogger,
  isLogLevel,
  LOG_LEVELS,
  type Logger,
  type LoggerConfig,
  type LogLevel,
  silentLogger,
} from './logger.js';
export {
  Counter,
  counter,
  createRegistry,
  Gauge,
  gauge,
  Histogram,
  histogram,
  ISTIO_DURATION_BUCKETS_MS,
  ISTIO_TRAFFIC_LABELS,
  type IstioTrafficLabel,
  type IstioTrafficLabels,
  istioLabels,
  type MetricsOptions,
  Registry,
} from './metrics.js';
export { Readiness } from './readiness.js';
