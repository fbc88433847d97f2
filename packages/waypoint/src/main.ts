import { createLogger, type LogLevel } from '@weft/telemetry';
import { errorCode, errorMessage } from '@weft/telemetry/errors';
import { parseConfig, USAGE, wantsHelp } from './config.js';
import { runGateway } from './gateway/run-gateway.js';
import { runWaypoint } from './run.js';

/** Entry point of weft-waypoint: env/argv → typed config, then serve until SIGTERM/SIGINT. */
export async function main(argv: readonly string[]): Promise<void> {
  if (wantsHelp(argv)) {
    process.stdout.write(USAGE);
    return;
  }
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(process.env, argv);
  } catch (err) {
    process.stderr.write(
      `weft-waypoint: ${errorCode(err)}: ${errorMessage(err)}\n(weft-waypoint --help lists the settings)\n`,
    );
    process.exitCode = 2;
    return;
  }
  const logger = createLogger({ name: 'weft-waypoint', level: config.logLevel as LogLevel });
  let running: Awaited<ReturnType<typeof runWaypoint>>;
  try {
    running =
      config.gateway === undefined
        ? await runWaypoint(config, logger)
        : await runGateway(config, config.gateway, logger);
  } catch (err) {
    logger.fatal({ code: errorCode(err), err: errorMessage(err) }, 'weft-waypoint failed to start');
    process.exitCode = 1;
    return;
  }
  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping');
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
