/**
 * The parts of the CNI 1.0 specification a chained plugin needs: the environment contract, the network
 * configuration it receives on stdin, the result it passes on, and the error object it prints. Pure.
 */
import { isIP } from 'node:net';
import { CNI_SPEC_CODE, CniError, CniErrorCode } from './errors.js';

export const CNI_VERSION = '1.0.0';
/** Chaining (prevResult) exists since 0.3.0. */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

export interface CniEnv {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS split into key/value pairs (K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_UID…). */
  args: Record<string, string>;
  path: string[];
}

export interface CniIpConfig {
  address: string;
  gateway?: string;
  interface?: number;
}

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

/** The result chained plugins hand on. Kept as the exact JSON received so nothing is lost. */
export type CniResult = Record<string, unknown> & {
  ips?: CniIpConfig[];
  interfaces?: CniInterface[];
};

/** The network configuration on stdin: the plugin's own conflist entry plus name, cniVersion, prevResult. */
export type NetConf = Record<string, unknown> & {
  cniVersion: string;
  name: string;
  type: string;
  prevResult?: CniResult;
};

const COMMANDS = new Set<string>(['ADD', 'DEL', 'CHECK', 'VERSION']);

/** Reads the CNI_* variables; VERSION needs none but CNI_COMMAND. */
export function parseCniEnv(env: Readonly<Record<string, string | undefined>>): CniEnv {
  const command = env.CNI_COMMAND ?? '';
  if (!COMMANDS.has(command))
    throw new CniError(
      CniErrorCode.BadEnv,
      `CNI_COMMAND must be ADD, DEL, CHECK or VERSION (got "${command}")`,
    );
  const required = (name: string): string => {
    const v = env[name];
    if (command !== 'VERSION' && (v === undefined || v === ''))
      throw new CniError(CniErrorCode.BadEnv, `${name} is required for ${command}`);
    return v ?? '';
  };
  // DEL may come without a netns (the sandbox is already gone): that is allowed by the spec.
  const netns = command === 'DEL' ? (env.CNI_NETNS ?? '') : required('CNI_NETNS');
  return {
    command: command as CniCommand,
    containerId: required('CNI_CONTAINERID'),
    netns,
    ifName: required('CNI_IFNAME'),
    args: parseCniArgs(env.CNI_ARGS ?? ''),
    path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
  };
}

/** `IgnoreUnknown=1;K8S_POD_NAMESPACE=prod;K8S_POD_NAME=web-1` → record. */
export function parseCniArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

export function parseNetConf(stdin: string): NetConf {
  let value: unknown;
  try {
    value = JSON.parse(stdin);
  } catch (err) {
    throw new CniError(CniErrorCode.BadConfig, 'the network configuration on stdin is not valid JSON', {
      cause: err,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CniError(CniErrorCode.BadConfig, 'the network configuration must be a JSON object');
  const conf = value as Record<string, unknown>;
  const version = conf.cniVersion;
  if (typeof version !== 'string' || version === '')
    throw new CniError(CniErrorCode.BadConfig, 'cniVersion is missing from the network configuration');
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(version))
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `cniVersion ${version} is not supported (supported: ${SUPPORTED_VERSIONS.join(', ')})`,
    );
  const prev = conf.prevResult;
  if (prev !== undefined && (typeof prev !== 'object' || prev === null || Array.isArray(prev)))
    throw new CniError(CniErrorCode.BadConfig, 'prevResult must be an object');
  return conf as NetConf;
}

/** The pod's addresses from the previous plugin's result: IPs on a sandbox interface (or unbound IPs). */
export function podIps(result: CniResult | undefined): string[] {
  const ips: string[] = [];
  for (const ip of result?.ips ?? []) {
    if (typeof ip?.address !== 'string') continue;
    const iface = typeof ip.interface === 'number' ? result?.interfaces?.[ip.interface] : undefined;
    if (iface !== undefined && (iface.sandbox === undefined || iface.sandbox === '')) continue;
    const addr = ip.address.split('/')[0] ?? '';
    if (isIP(addr) !== 0 && !ips.includes(addr)) ips.push(addr);
  }
  return ips;
}

export function versionResult(): string {
  return JSON.stringify({ cniVersion: CNI_VERSION, supportedVersions: SUPPORTED_VERSIONS });
}

/** The CNI error object printed on stdout with a non-zero exit (spec "Error" section). */
export function errorResult(err: CniError, cniVersion: string = CNI_VERSION): string {
  return JSON.stringify({
    cniVersion,
    code: CNI_SPEC_CODE[err.code],
    msg: `${err.code}: ${err.message}`,
    details: err.cause instanceof Error ? err.cause.message : '',
  });
}
