import { createLogger } from '@weft/telemetry';

/** Entry point of weft-cni: parses argv/env into a typed config and runs until signalled. */
export async function main(argv: readonly string[]): Promise<void> {
  const logger = createLogger({ name: 'weft-cni' });
  logger.info({ argv }, 'weft-cni starting');
}
