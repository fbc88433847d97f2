import { type DestinationStream, pino } from 'pino';
import type { PluginLog } from './plugin.js';
import type { PluginConfig } from './plugin-config.js';

/**
 * The plugin's logger: JSON lines on stderr (shown by some runtimes on failure) and appended to the
 * configured log file (the DaemonSet mounts its directory, so `weft-node` operators can read it).
 * Synchronous writes: the process exits right after printing its result.
 */
export function pluginLogger(config: PluginConfig | undefined): PluginLog {
  const streams: { stream: DestinationStream }[] = [{ stream: pino.destination({ dest: 2, sync: true }) }];
  if (config?.logFile !== undefined) {
    try {
      streams.push({
        stream: pino.destination({ dest: config.logFile, append: true, mkdir: true, sync: true }),
      });
    } catch {
      // An unwritable log file must not fail pod creation.
    }
  }
  return pino(
    { name: 'weft-cni', level: config?.logLevel ?? 'info', base: { pid: process.pid } },
    pino.multistream(streams),
  ).child({ component: 'cni-plugin' });
}
