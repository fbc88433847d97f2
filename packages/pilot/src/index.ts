export { type PilotConfig, parsePilotConfig, USAGE } from './config.js';
export { Discovery, type DiscoveryOptions } from './discovery.js';
export { main, type RunningPilot, startPilot } from './main.js';
export { DirectorySource, type DirectorySourceOptions } from './sources/directory.js';
export { KubernetesSource, type KubernetesSourceOptions, WATCHED } from './sources/kubernetes.js';
export { Reflector, type ReflectorStats, type ResourceType } from './sources/reflector.js';
export type { ChangeListener, ConfigSource } from './sources/source.js';
