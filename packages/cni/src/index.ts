export { type AgentAck, type AgentMessage, sendToAgent } from './agent-client.js';
export { type CniResult, type NetConf, parseCniArgs, podIps, SUPPORTED_VERSIONS } from './cni-spec.js';
export { addPlugin, PLUGIN_TYPE, primaryConfigFile, removePlugin, toConflist } from './conflist.js';
export { decideEnrollment, effectiveMtlsMode, failsClosed, type MtlsMode } from './enrollment.js';
export { CniError, CniErrorCode } from './errors.js';
export { type InstallOptions, install, uninstall, watchInstall } from './install.js';
export { main, VERSION } from './main.js';
export { type PluginDeps, type PluginOutput, runPlugin } from './plugin.js';
