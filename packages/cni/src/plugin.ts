/**
 * The chained plugin: ADD hands an ambient pod to weft-node and passes the previous result on unchanged;
 * DEL tells weft-node the pod is gone (never fails); CHECK verifies the agent can be reached for pods
 * that need it; VERSION lists the spec versions. I/O comes in through `PluginDeps` so tests can drive it.
 */
import { type AgentAck, type AgentMessage, agentReachable, sendToAgent } from './agent-client.js';
import {
  type CniEnv,
  errorResult,
  type NetConf,
  parseCniEnv,
  parseNetConf,
  podIps,
  versionResult,
} from './cni-spec.js';
import { decideEnrollment, effectiveMtlsMode, failsClosed, type MtlsMode } from './enrollment.js';
import { CniError, CniErrorCode } from './errors.js';
import { type PluginConfig, parsePluginConfig } from './plugin-config.js';
import { type PodFacts, type PodLookup, podLookup } from './pod-lookup.js';

/** The subset of a pino logger the plugin uses. */
export interface PluginLog {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface PluginDeps {
  lookup: (config: PluginConfig) => PodLookup;
  send: (socketPath: string, message: AgentMessage, timeoutMs: number) => Promise<AgentAck>;
  reachable: (socketPath: string, timeoutMs: number) => Promise<boolean>;
  /** Made once the config (log file, level) is known. */
  log: (config: PluginConfig | undefined) => PluginLog;
}

export interface PluginOutput {
  stdout: string;
  exitCode: number;
}

const NO_LOG: PluginLog = { error() {}, warn() {}, info() {}, debug() {} };

export const defaultDeps: PluginDeps = {
  lookup: podLookup,
  send: sendToAgent,
  reachable: agentReachable,
  log: () => NO_LOG,
};

interface Pod {
  namespace: string;
  name: string;
}

function podOf(env: CniEnv): Pod | undefined {
  const namespace = env.args.K8S_POD_NAMESPACE;
  const name = env.args.K8S_POD_NAME;
  return namespace && name ? { namespace, name } : undefined;
}

/** Result of ADD: the previous plugin's result, unchanged but for the cniVersion of this invocation. */
function passThrough(conf: NetConf): PluginOutput {
  return { stdout: JSON.stringify({ ...conf.prevResult, cniVersion: conf.cniVersion }), exitCode: 0 };
}

/** Fail closed (throw, kubelet retries) or open (log, pod starts uncaptured). */
function onFailure(
  err: CniError,
  config: PluginConfig,
  mode: MtlsMode | undefined,
  log: PluginLog,
  ctx: Record<string, unknown>,
): void {
  if (failsClosed(config.failurePolicy, mode)) {
    log.error(
      {
        ...ctx,
        code: err.code,
        mode: mode ?? 'unknown',
        failurePolicy: config.failurePolicy,
        err: err.message,
      },
      'failing closed: the pod is not started until weft-node has it (kubelet retries)',
    );
    throw err;
  }
  log.warn(
    { ...ctx, code: err.code, mode, failurePolicy: config.failurePolicy, err: err.message },
    'failing open: the pod starts WITHOUT mesh capture',
  );
}

async function add(env: CniEnv, conf: NetConf, config: PluginConfig, deps: PluginDeps, log: PluginLog) {
  if (conf.prevResult === undefined)
    throw new CniError(
      CniErrorCode.NotChained,
      'no prevResult: weft-cni is a chained plugin and must come after the interface plugin in the conflist',
    );
  const pod = podOf(env);
  if (pod === undefined) {
    log.debug({ containerId: env.containerId }, 'no K8S_POD_NAMESPACE/K8S_POD_NAME in CNI_ARGS: not a pod');
    return passThrough(conf);
  }
  const ctx = { pod: `${pod.namespace}/${pod.name}`, containerId: env.containerId };
  if (config.excludeNamespaces.includes(pod.namespace)) {
    log.debug(ctx, 'namespace excluded');
    return passThrough(conf);
  }
  let facts: PodFacts;
  try {
    facts = await deps.lookup(config).facts(pod.namespace, pod.name);
  } catch (err) {
    const e =
      err instanceof CniError
        ? err
        : new CniError(CniErrorCode.LookupFailed, `looking up ${ctx.pod} failed: ${String(err)}`, {
            cause: err,
          });
    onFailure(e, config, undefined, log, ctx);
    return passThrough(conf);
  }
  const enrollment = decideEnrollment({
    namespace: pod.namespace,
    namespaceLabels: facts.namespaceLabels,
    podLabels: facts.labels,
    podAnnotations: facts.annotations,
    excludeNamespaces: config.excludeNamespaces,
  });
  if (!enrollment.enrolled) {
    log.debug({ ...ctx, reason: enrollment.reason }, 'pod not in the mesh');
    return passThrough(conf);
  }
  const mode = effectiveMtlsMode(
    facts.peerAuthentications,
    pod.namespace,
    config.rootNamespace,
    facts.labels,
  );
  const uid = env.args.K8S_POD_UID || facts.uid;
  const ips = podIps(conf.prevResult);
  try {
    if (uid === undefined || uid === '')
      throw new CniError(
        CniErrorCode.LookupFailed,
        `no uid for ${ctx.pod} (neither K8S_POD_UID nor a lookup)`,
      );
    if (ips.length === 0)
      throw new CniError(CniErrorCode.NotChained, `the previous plugin's result has no IP for ${ctx.pod}`);
    const ack = await deps.send(
      config.socketPath,
      {
        type: 'add',
        pod: {
          uid,
          name: pod.name,
          namespace: pod.namespace,
          serviceAccount: facts.serviceAccount,
          netnsPath: env.netns,
          ips,
          labels: facts.labels,
        },
      },
      config.agentTimeoutMs,
    );
    if (!ack.ok)
      throw new CniError(
        CniErrorCode.AgentRejected,
        `weft-node refused ${ctx.pod}: ${ack.error?.code ?? 'no code'}: ${ack.error?.message ?? 'no message'}`,
      );
    log.info({ ...ctx, uid, ips, mode, reason: enrollment.reason }, 'pod handed to weft-node');
  } catch (err) {
    if (!(err instanceof CniError)) throw err;
    onFailure(err, config, mode, log, ctx);
  }
  return passThrough(conf);
}

async function del(
  env: CniEnv,
  config: PluginConfig,
  deps: PluginDeps,
  log: PluginLog,
): Promise<PluginOutput> {
  const pod = podOf(env);
  if (pod === undefined || config.excludeNamespaces.includes(pod.namespace))
    return { stdout: '', exitCode: 0 };
  const ctx = { pod: `${pod.namespace}/${pod.name}`, containerId: env.containerId };
  // DEL must succeed even when nothing is left to clean up; weft-node also drops pods whose netns vanished.
  try {
    let uid = env.args.K8S_POD_UID;
    if (uid === undefined || uid === '') uid = (await deps.lookup(config).facts(pod.namespace, pod.name)).uid;
    if (uid === undefined || uid === '') {
      log.debug(ctx, 'DEL without a pod uid: nothing to tell weft-node');
      return { stdout: '', exitCode: 0 };
    }
    const ack = await deps.send(config.socketPath, { type: 'del', uid }, config.agentTimeoutMs);
    if (ack.ok) log.info({ ...ctx, uid }, 'pod removed from weft-node');
    else log.warn({ ...ctx, uid, error: ack.error }, 'weft-node refused the DEL (ignored)');
  } catch (err) {
    log.warn({ ...ctx, err: String(err) }, 'DEL could not reach weft-node (ignored)');
  }
  return { stdout: '', exitCode: 0 };
}

async function check(env: CniEnv, conf: NetConf, config: PluginConfig, deps: PluginDeps, log: PluginLog) {
  if (conf.prevResult === undefined)
    throw new CniError(CniErrorCode.NotChained, 'CHECK without prevResult: weft-cni must be chained');
  const pod = podOf(env);
  if (pod === undefined || config.excludeNamespaces.includes(pod.namespace))
    return { stdout: '', exitCode: 0 };
  const facts = await deps.lookup(config).facts(pod.namespace, pod.name);
  const enrolled = decideEnrollment({
    namespace: pod.namespace,
    namespaceLabels: facts.namespaceLabels,
    podLabels: facts.labels,
    podAnnotations: facts.annotations,
    excludeNamespaces: config.excludeNamespaces,
  }).enrolled;
  if (enrolled && !(await deps.reachable(config.socketPath, config.agentTimeoutMs))) {
    const mode = effectiveMtlsMode(
      facts.peerAuthentications,
      pod.namespace,
      config.rootNamespace,
      facts.labels,
    );
    onFailure(
      new CniError(CniErrorCode.AgentUnreachable, `weft-node is not listening on ${config.socketPath}`),
      config,
      mode,
      log,
      { pod: `${pod.namespace}/${pod.name}` },
    );
  }
  return { stdout: '', exitCode: 0 };
}

/** Runs one CNI invocation. Never throws: errors become the CNI error object and exit code 1. */
export async function runPlugin(
  env: Readonly<Record<string, string | undefined>>,
  stdin: string,
  deps: PluginDeps = defaultDeps,
): Promise<PluginOutput> {
  let version: string | undefined;
  let log = NO_LOG;
  try {
    const cniEnv = parseCniEnv(env);
    if (cniEnv.command === 'VERSION') return { stdout: versionResult(), exitCode: 0 };
    const conf = parseNetConf(stdin);
    version = conf.cniVersion;
    const config = parsePluginConfig(conf);
    log = deps.log(config);
    switch (cniEnv.command) {
      case 'ADD':
        return await add(cniEnv, conf, config, deps, log);
      case 'DEL':
        return await del(cniEnv, config, deps, log);
      case 'CHECK':
        return await check(cniEnv, conf, config, deps, log);
    }
  } catch (err) {
    const e =
      err instanceof CniError
        ? err
        : new CniError(CniErrorCode.BadConfig, `unexpected failure: ${String(err)}`, { cause: err });
    log.error({ code: e.code, err: e.message }, 'CNI invocation failed');
    return { stdout: errorResult(e, version), exitCode: 1 };
  }
}
