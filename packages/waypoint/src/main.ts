import { createLogger } from '@weft/telemetry';

/** Entry point of weft-waypoint: parses argv/env into a typed config and runs until signalled. */
export async function main(argv: readonly string[]): Promise<void> {
  const logger = createLogger({ name: 'weft-waypoint' });
  logger.info({ argv }, 'weft-waypoint starting');
}
