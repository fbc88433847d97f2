import { createLogger } from '@weft/telemetry';

/** Entry point of weftctl: parses argv/env into a typed config and runs until signalled. */
export async function main(argv: readonly string[]): Promise<void> {
  const logger = createLogger({ name: 'weftctl' });
  logger.info({ argv }, 'weftctl starting');
}
