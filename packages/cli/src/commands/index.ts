import type { Command } from '../command.js';

/** Every weftctl command, in the order `weftctl help` lists them. */
export const commands: Command[] = [];
