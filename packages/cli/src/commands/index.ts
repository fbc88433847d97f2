import type { Command } from '../command.js';
import { command as analyze } from './analyze.js';
import { command as ca } from './ca.js';

/** Every weftctl command, in the order `weftctl help` lists them. */
export const commands: Command[] = [analyze, ca];
