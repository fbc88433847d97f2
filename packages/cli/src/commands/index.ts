import type { Command } from '../command.js';
import { command as analyze } from './analyze.js';
import { command as ca } from './ca.js';
import { command as certs } from './certs.js';
import { command as check } from './check.js';
import { command as config } from './config.js';
import { command as demo } from './demo.js';
import { command as install } from './install.js';
import { command as waypoint } from './waypoint.js';

/** Every weftctl command, in the order `weftctl help` lists them. */
export const commands: Command[] = [install, waypoint, analyze, check, certs, config, ca, demo];
