export { parseArgv } from './args.js';
export type { Command, CommandIo, ParsedArgs } from './command.js';
export { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './command.js';
export { main, VERSION } from './main.js';
