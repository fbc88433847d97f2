/**
 * Plain model (@weft/config) ⇄ generated protobuf messages. Mechanical: the model mirrors the messages.
 * The decode side validates what a consumer relies on (address lengths, names) and throws XdsDecodeError,
 * which the client turns into a NACK.
 */
import type {
  Authorization,
  ConfigObject,
  GatewayAddress,
  IpBlock,
  L4Match,
  PortMapping,
  Service,
  StringMatch,
  Workload,
} from '@weft/config';
import { readAddress } from './address-decode.js';
import { encodeServiceAddress, encodeWorkloadAddress } from './address-encode.js';
import { XdsDecodeError } from './errors.js';
import {
  Action,
  Authorization as AuthorizationMsg,
  type Match,
  Scope,
  type StringMatch as StringMatchMsg,
} from './gen/istio/security/authorization.js';
import {
  AppProtocol,
  type GatewayAddress as GatewayAddressMsg,
  type Port,
  type Service as ServiceMsg,
  TunnelProtocol,
  type Workload as WorkloadMsg,
  WorkloadStatus,
  WorkloadType,
} from './gen/istio/workload/workload.js';
import { ConfigResource } from './gen/weft/config/v1/config.js';
import { bytesToIp, ipToBytes } from './ip.js';

const NETNS_EXTENSION = 'weft.dev/netns';

/** Enum number → name; undefined for UNRECOGNIZED (-1) and unknown values. */
function at<T>(list: readonly T[], i: number): T | undefined {
  return list[i];
}

const APP_PROTOCOLS = ['UNKNOWN', 'HTTP11', 'HTTP2', 'GRPC', 'TCP', 'TLS'] as const;

function portToMsg(p: PortMapping): Port {
  return {
    servicePort: p.servicePort,
    targetPort: p.targetPort,
    appProtocol: AppProtocol[p.appProtocol],
  };
}

function portFromMsg(p: Port): PortMapping {
  return {
    servicePort: p.servicePort,
    targetPort: p.targetPort,
    appProtocol: at(APP_PROTOCOLS, p.appProtocol) ?? 'UNKNOWN',
  };
}

function gatewayToMsg(g: GatewayAddress): GatewayAddressMsg {
  if (g.hostname !== undefined) {
    return { destination: { $case: 'hostname', value: { ...g.hostname } }, hboneMtlsPort: g.hboneMtlsPort };
  }
  if (g.address !== undefined) {
    return {
      destination: {
        $case: 'address',
        value: { network: g.address.network, address: ipToBytes(g.address.ip), length: undefined },
      },
      hboneMtlsPort: g.hboneMtlsPort,
    };
  }
  return { destination: undefined, hboneMtlsPort: g.hboneMtlsPort };
}

function gatewayFromMsg(g: GatewayAddressMsg): GatewayAddress {
  const d = g.destination;
  if (d?.$case === 'hostname') return { hostname: { ...d.value }, hboneMtlsPort: g.hboneMtlsPort };
  if (d?.$case === 'address') {
    return {
      address: { network: d.value.network, ip: bytesToIp(d.value.address) },
      hboneMtlsPort: g.hboneMtlsPort,
    };
  }
  return { hboneMtlsPort: g.hboneMtlsPort };
}

export function workloadToMsg(w: Workload): WorkloadMsg {
  const services: WorkloadMsg['services'] = {};
  for (const [key, ports] of Object.entries(w.services)) services[key] = { ports: ports.map(portToMsg) };
  return {
    uid: w.uid,
    name: w.name,
    namespace: w.namespace,
    addresses: w.addresses.map(ipToBytes),
    hostname: '',
    network: w.network,
    tunnelProtocol: w.tunnelProtocol === 'HBONE' ? TunnelProtocol.HBONE : TunnelProtocol.NONE,
    trustDomain: w.trustDomain,
    serviceAccount: w.serviceAccount,
    waypoint: w.waypoint === undefined ? undefined : gatewayToMsg(w.waypoint),
    networkGateway: undefined,
    node: w.node,
    canonicalName: w.canonicalName,
    canonicalRevision: w.canonicalRevision,
    workloadType: WorkloadType[w.workloadType],
    workloadName: w.workloadName,
    nativeTunnel: false,
    applicationTunnel: undefined,
    services,
    authorizationPolicies: [...w.authorizationPolicies],
    status: WorkloadStatus[w.status],
    clusterId: w.clusterId,
    locality: undefined,
    networkMode: 0,
    extensions:
      w.netns === undefined
        ? []
        : [
            {
              name: NETNS_EXTENSION,
              config: {
                typeUrl: 'type.googleapis.com/google.protobuf.StringValue',
                value: stringValue(w.netns),
              },
            },
          ],
    capacity: undefined,
  };
}

/** google.protobuf.StringValue{value=1} by hand: one length-delimited field. */
function stringValue(s: string): Buffer {
  const body = Buffer.from(s, 'utf8');
  if (body.length > 127) throw new XdsDecodeError('netns name too long (max 127 bytes)');
  return Buffer.concat([Buffer.from([0x0a, body.length]), body]);
}

function readStringValue(b: Uint8Array): string {
  if (b.length < 2 || b[0] !== 0x0a || b[1] !== b.length - 2) throw new XdsDecodeError('bad netns extension');
  return Buffer.from(b.subarray(2)).toString('utf8');
}

const WORKLOAD_TYPES = ['DEPLOYMENT', 'CRONJOB', 'POD', 'JOB'] as const;

export function workloadFromMsg(m: WorkloadMsg): Workload {
  if (m.uid === '') throw new XdsDecodeError('workload without uid');
  const services: Record<string, PortMapping[]> = {};
  for (const [key, list] of Object.entries(m.services)) services[key] = list.ports.map(portFromMsg);
  const netnsExt = m.extensions.find((e) => e.name === NETNS_EXTENSION);
  const base: Workload = {
    uid: m.uid,
    name: m.name,
    namespace: m.namespace,
    addresses: m.addresses.map(bytesToIp),
    network: m.network,
    tunnelProtocol: m.tunnelProtocol === TunnelProtocol.HBONE ? 'HBONE' : 'NONE',
    trustDomain: m.trustDomain === '' ? 'cluster.local' : m.trustDomain,
    serviceAccount: m.serviceAccount === '' ? 'default' : m.serviceAccount,
    node: m.node,
    canonicalName: m.canonicalName,
    canonicalRevision: m.canonicalRevision,
    workloadType: at(WORKLOAD_TYPES, m.workloadType) ?? 'POD',
    workloadName: m.workloadName,
    services,
    authorizationPolicies: m.authorizationPolicies,
    status: m.status === WorkloadStatus.UNHEALTHY ? 'UNHEALTHY' : 'HEALTHY',
    clusterId: m.clusterId,
  };
  return {
    ...base,
    ...(m.waypoint === undefined ? {} : { waypoint: gatewayFromMsg(m.waypoint) }),
    ...(netnsExt?.config === undefined ? {} : { netns: readStringValue(netnsExt.config.value) }),
  };
}

export function serviceToMsg(s: Service): ServiceMsg {
  return {
    name: s.name,
    namespace: s.namespace,
    hostname: s.hostname,
    addresses: s.addresses.map((a) => ({ network: a.network, address: ipToBytes(a.ip), length: undefined })),
    ports: s.ports.map(portToMsg),
    subjectAltNames: [...s.subjectAltNames],
    waypoint: s.waypoint === undefined ? undefined : gatewayToMsg(s.waypoint),
    loadBalancing: undefined,
    ipFamilies: 0,
    extensions: [],
    canonical: true,
    ingressUseWaypoint: s.ingressUseWaypoint,
    weightedWaypoints: [],
    visibility: 0,
  };
}

export function serviceFromMsg(m: ServiceMsg): Service {
  if (m.hostname === '') throw new XdsDecodeError('service without hostname');
  const base: Service = {
    name: m.name,
    namespace: m.namespace,
    hostname: m.hostname,
    addresses: m.addresses.map((a) => ({ network: a.network, ip: bytesToIp(a.address) })),
    ports: m.ports.map(portFromMsg),
    subjectAltNames: m.subjectAltNames,
    ingressUseWaypoint: m.ingressUseWaypoint,
  };
  return m.waypoint === undefined ? base : { ...base, waypoint: gatewayFromMsg(m.waypoint) };
}

function stringMatchToMsg(s: StringMatch): StringMatchMsg {
  if ('exact' in s) return { matchType: { $case: 'exact', value: s.exact } };
  if ('prefix' in s) return { matchType: { $case: 'prefix', value: s.prefix } };
  if ('suffix' in s) return { matchType: { $case: 'suffix', value: s.suffix } };
  return { matchType: { $case: 'presence', value: {} } };
}

function stringMatchFromMsg(m: StringMatchMsg): StringMatch {
  const t = m.matchType;
  if (t === undefined) throw new XdsDecodeError('StringMatch with no match_type');
  switch (t.$case) {
    case 'exact':
      return { exact: t.value };
    case 'prefix':
      return { prefix: t.value };
    case 'suffix':
      return { suffix: t.value };
    default:
      return { presence: {} };
  }
}

function blockToMsg(b: IpBlock): { address: Buffer; length: number } {
  return { address: Buffer.from(b.address), length: b.length };
}

function blockFromMsg(b: { address: Buffer; length: number }): IpBlock {
  if (b.address.length !== 4 && b.address.length !== 16)
    throw new XdsDecodeError(`CIDR address has ${b.address.length} bytes`);
  if (b.length > b.address.length * 8) throw new XdsDecodeError(`CIDR prefix /${b.length} too long`);
  return { address: new Uint8Array(b.address), length: b.length };
}

function matchToMsg(m: L4Match): Match {
  return {
    namespaces: m.namespaces.map(stringMatchToMsg),
    notNamespaces: m.notNamespaces.map(stringMatchToMsg),
    serviceAccounts: m.serviceAccounts.map((s) => ({ ...s })),
    notServiceAccounts: m.notServiceAccounts.map((s) => ({ ...s })),
    principals: m.principals.map(stringMatchToMsg),
    notPrincipals: m.notPrincipals.map(stringMatchToMsg),
    sourceIps: m.sourceIps.map(blockToMsg),
    notSourceIps: m.notSourceIps.map(blockToMsg),
    destinationIps: m.destinationIps.map(blockToMsg),
    notDestinationIps: m.notDestinationIps.map(blockToMsg),
    destinationPorts: [...m.destinationPorts],
    notDestinationPorts: [...m.notDestinationPorts],
    extensions: [],
  };
}

function matchFromMsg(m: Match): L4Match {
  return {
    namespaces: m.namespaces.map(stringMatchFromMsg),
    notNamespaces: m.notNamespaces.map(stringMatchFromMsg),
    serviceAccounts: m.serviceAccounts,
    notServiceAccounts: m.notServiceAccounts,
    principals: m.principals.map(stringMatchFromMsg),
    notPrincipals: m.notPrincipals.map(stringMatchFromMsg),
    sourceIps: m.sourceIps.map(blockFromMsg),
    notSourceIps: m.notSourceIps.map(blockFromMsg),
    destinationIps: m.destinationIps.map(blockFromMsg),
    notDestinationIps: m.notDestinationIps.map(blockFromMsg),
    destinationPorts: m.destinationPorts,
    notDestinationPorts: m.notDestinationPorts,
  };
}

const SCOPES = ['GLOBAL', 'NAMESPACE', 'WORKLOAD_SELECTOR'] as const;

export function authorizationToMsg(a: Authorization): AuthorizationMsg {
  return {
    name: a.name,
    namespace: a.namespace,
    scope: Scope[a.scope],
    action: a.action === 'DENY' ? Action.DENY : Action.ALLOW,
    rules: a.rules.map((r) => ({ clauses: r.clauses.map((c) => ({ matches: c.matches.map(matchToMsg) })) })),
    dryRun: a.dryRun,
    extensions: [],
  };
}

export function authorizationFromMsg(m: AuthorizationMsg): Authorization {
  if (m.name === '') throw new XdsDecodeError('authorization without name');
  const scope = at(SCOPES, m.scope);
  if (scope === undefined) throw new XdsDecodeError(`unknown authorization scope ${m.scope}`);
  if (m.action !== Action.ALLOW && m.action !== Action.DENY)
    throw new XdsDecodeError(`unknown authorization action ${m.action}`);
  return {
    name: m.name,
    namespace: m.namespace,
    scope,
    action: m.action === Action.DENY ? 'DENY' : 'ALLOW',
    rules: m.rules.map((r) => ({
      clauses: r.clauses.map((c) => ({ matches: c.matches.map(matchFromMsg) })),
    })),
    dryRun: m.dryRun,
  };
}

export function configToMsg(c: ConfigObject): ConfigResource {
  return {
    apiVersion: c.apiVersion,
    kind: c.kind,
    namespace: c.namespace,
    name: c.name,
    json: JSON.stringify(c.object),
  };
}

export function configFromMsg(m: ConfigResource): ConfigObject {
  let object: unknown;
  try {
    object = JSON.parse(m.json);
  } catch (err) {
    throw new XdsDecodeError(`ConfigResource ${m.kind} ${m.namespace}/${m.name}: invalid JSON`, err);
  }
  if (typeof object !== 'object' || object === null || Array.isArray(object))
    throw new XdsDecodeError(`ConfigResource ${m.kind} ${m.namespace}/${m.name}: JSON is not an object`);
  return {
    apiVersion: m.apiVersion,
    kind: m.kind,
    namespace: m.namespace,
    name: m.name,
    object: object as Record<string, unknown>,
  };
}

/** Encoders for the resource bodies (what goes inside google.protobuf.Any.value); addresses: address-encode.ts. */
export const encodeAddress = {
  workload: encodeWorkloadAddress,
  service: encodeServiceAddress,
};

export function encodeAuthorization(a: Authorization): Uint8Array {
  return AuthorizationMsg.encode(authorizationToMsg(a)).finish();
}

export function encodeConfig(c: ConfigObject): Uint8Array {
  return ConfigResource.encode(configToMsg(c)).finish();
}

export type DecodedAddress =
  | { readonly kind: 'workload'; readonly workload: Workload }
  | { readonly kind: 'service'; readonly service: Service };

/** Address bytes → the model (workloads read straight into the model: address-decode.ts). */
export function decodeAddress(bytes: Uint8Array): DecodedAddress {
  let raw: ReturnType<typeof readAddress>;
  try {
    raw = readAddress(bytes, gatewayFromMsg);
  } catch (err) {
    throw new XdsDecodeError('undecodable istio.workload.Address', err);
  }
  if (raw?.kind === 'workload') {
    if (raw.workload instanceof XdsDecodeError) throw raw.workload;
    return { kind: 'workload', workload: raw.workload };
  }
  if (raw?.kind === 'service') return { kind: 'service', service: serviceFromMsg(raw.service) };
  throw new XdsDecodeError('istio.workload.Address with neither workload nor service');
}

export function decodeAuthorization(bytes: Uint8Array): Authorization {
  try {
    return authorizationFromMsg(AuthorizationMsg.decode(bytes));
  } catch (err) {
    if (err instanceof XdsDecodeError) throw err;
    throw new XdsDecodeError('undecodable istio.security.Authorization', err);
  }
}

export function decodeConfig(bytes: Uint8Array): ConfigObject {
  try {
    return configFromMsg(ConfigResource.decode(bytes));
  } catch (err) {
    if (err instanceof XdsDecodeError) throw err;
    throw new XdsDecodeError('undecodable weft.config.v1.ConfigResource', err);
  }
}
