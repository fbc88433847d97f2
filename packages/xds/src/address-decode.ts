/**
 * istio.workload.Address bytes → the model, reading a Workload straight into a model Workload: no generated
 * message objects in between (map entries, port lists, copied address buffers), which is most of what a
 * node agent allocates on a full sync. Same result and same errors as the generated decoder followed by
 * workloadFromMsg: the field loop mirrors the generated one (wrong wire types and unknown fields skipped,
 * the last of a repeated singular field or oneof wins, an end-group tag or tag 0 ends the message), rare
 * sub-messages go through their generated decoders, and conversion checks run in the same order after the
 * whole message is read. Services use the generated decoder. A test compares both paths on many inputs.
 */

import { BinaryReader } from '@bufbuild/protobuf/wire';
import type { GatewayAddress, PortMapping, Workload } from '@weft/config';
import { XdsDecodeError } from './errors.js';
import { UInt32Value } from './gen/google/protobuf/wrappers.js';
import {
  ApplicationTunnel,
  Extension,
  type Extension as ExtensionMsg,
  GatewayAddress as GatewayAddressMsg,
  Locality,
  Service as ServiceMsg,
} from './gen/istio/workload/workload.js';
import { bytesToIp } from './ip.js';

/** Stops where the generated decoders stop: an end-group tag or tag 0. */
const stops = (tag: number) => (tag & 7) === 4 || tag === 0;

const APP_PROTOCOLS = ['UNKNOWN', 'HTTP11', 'HTTP2', 'GRPC', 'TCP', 'TLS'] as const;
const WORKLOAD_TYPES = ['DEPLOYMENT', 'CRONJOB', 'POD', 'JOB'] as const;

/** A decoded Workload message before the conversion checks (only what the model uses). */
interface RawWorkload {
  uid: string;
  name: string;
  namespace: string;
  addresses: Uint8Array[];
  network: string;
  tunnelProtocol: number;
  trustDomain: string;
  serviceAccount: string;
  waypoint: GatewayAddressMsg | undefined;
  node: string;
  canonicalName: string;
  canonicalRevision: string;
  workloadType: number;
  workloadName: string;
  services: Record<string, PortMapping[]>;
  authorizationPolicies: string[];
  status: number;
  clusterId: string;
  extensions: ExtensionMsg[];
}

function readPort(reader: BinaryReader, length: number): PortMapping {
  const end = reader.pos + length;
  let servicePort = 0;
  let targetPort = 0;
  let appProtocol = 0;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 8) servicePort = reader.uint32();
    else if (tag === 16) targetPort = reader.uint32();
    else if (tag === 24) appProtocol = reader.int32();
    else {
      if (stops(tag)) break;
      reader.skip(tag & 7);
    }
  }
  return { servicePort, targetPort, appProtocol: APP_PROTOCOLS[appProtocol] ?? 'UNKNOWN' };
}

function readPortList(reader: BinaryReader, length: number): PortMapping[] {
  const end = reader.pos + length;
  const ports: PortMapping[] = [];
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 10) ports.push(readPort(reader, reader.uint32()));
    else {
      if (stops(tag)) break;
      reader.skip(tag & 7);
    }
  }
  return ports;
}

/** One `services` map entry into `into` (a later value for a key replaces the earlier one). */
function readServicesEntry(reader: BinaryReader, length: number, into: Record<string, PortMapping[]>): void {
  const end = reader.pos + length;
  let key = '';
  let ports: PortMapping[] | undefined;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 10) key = reader.string();
    else if (tag === 18) ports = readPortList(reader, reader.uint32());
    else {
      if (stops(tag)) break;
      reader.skip(tag & 7);
    }
  }
  // The generated path stores entries on a plain object and copies its own entries: `__proto__` never shows.
  // slice: an exactly sized copy (a pushed-to array keeps spare capacity, and the model keeps this one).
  if (ports !== undefined && key !== '__proto__') into[key] = ports.slice();
}

function readWorkload(reader: BinaryReader, length: number): RawWorkload {
  const end = reader.pos + length;
  const m: RawWorkload = {
    uid: '',
    name: '',
    namespace: '',
    addresses: [],
    network: '',
    tunnelProtocol: 0,
    trustDomain: '',
    serviceAccount: '',
    waypoint: undefined,
    node: '',
    canonicalName: '',
    canonicalRevision: '',
    workloadType: 0,
    workloadName: '',
    services: {},
    authorizationPolicies: [],
    status: 0,
    clusterId: '',
    extensions: [],
  };
  while (reader.pos < end) {
    const tag = reader.uint32();
    // Tags are (field number << 3) | wire type, as in workload.proto: 162 = uid (20, bytes), 40 = tunnel (5, varint).
    switch (tag) {
      case 162:
        m.uid = reader.string();
        continue;
      case 10:
        m.name = reader.string();
        continue;
      case 18:
        m.namespace = reader.string();
        continue;
      case 26:
        m.addresses.push(reader.bytes());
        continue;
      case 170: // hostname: not in the model
        reader.string();
        continue;
      case 34:
        m.network = reader.string();
        continue;
      case 40:
        m.tunnelProtocol = reader.int32();
        continue;
      case 50:
        m.trustDomain = reader.string();
        continue;
      case 58:
        m.serviceAccount = reader.string();
        continue;
      case 66:
        m.waypoint = GatewayAddressMsg.decode(reader, reader.uint32());
        continue;
      case 154: // network_gateway: read (and checked) as generated, not in the model
        GatewayAddressMsg.decode(reader, reader.uint32());
        continue;
      case 74:
        m.node = reader.string();
        continue;
      case 82:
        m.canonicalName = reader.string();
        continue;
      case 90:
        m.canonicalRevision = reader.string();
        continue;
      case 96:
        m.workloadType = reader.int32();
        continue;
      case 106:
        m.workloadName = reader.string();
        continue;
      case 112: // native_tunnel
        reader.bool();
        continue;
      case 186: // application_tunnel
        ApplicationTunnel.decode(reader, reader.uint32());
        continue;
      case 178:
        readServicesEntry(reader, reader.uint32(), m.services);
        continue;
      case 130:
        m.authorizationPolicies.push(reader.string());
        continue;
      case 136:
        m.status = reader.int32();
        continue;
      case 146:
        m.clusterId = reader.string();
        continue;
      case 194: // locality
        Locality.decode(reader, reader.uint32());
        continue;
      case 200: // network_mode
        reader.int32();
        continue;
      case 210:
        m.extensions.push(Extension.decode(reader, reader.uint32()));
        continue;
      case 218: // capacity
        UInt32Value.decode(reader, reader.uint32());
        continue;
    }
    if (stops(tag)) break;
    reader.skip(tag & 7);
  }
  return m;
}

type RawAddress =
  | { kind: 'workload'; workload: RawWorkload }
  | { kind: 'service'; service: ServiceMsg }
  | undefined;

/** The Address message: the last of its oneof fields wins (each one is read in full). */
export function readAddress(bytes: Uint8Array): RawAddress {
  const reader = new BinaryReader(bytes);
  let out: RawAddress;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 10) out = { kind: 'workload', workload: readWorkload(reader, reader.uint32()) };
    else if (tag === 18) out = { kind: 'service', service: ServiceMsg.decode(reader, reader.uint32()) };
    else {
      if (stops(tag)) break;
      reader.skip(tag & 7);
    }
  }
  return out;
}

const NETNS_EXTENSION = 'weft.dev/netns';

function readStringValue(b: Uint8Array): string {
  if (b.length < 2 || b[0] !== 0x0a || b[1] !== b.length - 2) throw new XdsDecodeError('bad netns extension');
  return Buffer.from(b.subarray(2)).toString('utf8');
}

/** workloadFromMsg for a RawWorkload: the same checks, in the same order. */
export function workloadFromRaw(
  m: RawWorkload,
  gatewayFromMsg: (g: GatewayAddressMsg) => GatewayAddress,
): Workload {
  if (m.uid === '') throw new XdsDecodeError('workload without uid');
  const netnsExt = m.extensions.find((e) => e.name === NETNS_EXTENSION);
  // map, not push: the model's arrays are kept by every client, and map sizes them exactly.
  const addresses = m.addresses.map((a) => bytesToIp(a));
  const w: Workload = {
    uid: m.uid,
    name: m.name,
    namespace: m.namespace,
    addresses,
    network: m.network,
    tunnelProtocol: m.tunnelProtocol === 1 ? 'HBONE' : 'NONE',
    trustDomain: m.trustDomain === '' ? 'cluster.local' : m.trustDomain,
    serviceAccount: m.serviceAccount === '' ? 'default' : m.serviceAccount,
    node: m.node,
    canonicalName: m.canonicalName,
    canonicalRevision: m.canonicalRevision,
    workloadType: WORKLOAD_TYPES[m.workloadType] ?? 'POD',
    workloadName: m.workloadName,
    services: m.services,
    authorizationPolicies: m.authorizationPolicies,
    status: m.status === 1 ? 'UNHEALTHY' : 'HEALTHY',
    clusterId: m.clusterId,
  };
  if (m.waypoint === undefined && netnsExt?.config === undefined) return w;
  return {
    ...w,
    ...(m.waypoint === undefined ? {} : { waypoint: gatewayFromMsg(m.waypoint) }),
    ...(netnsExt?.config === undefined ? {} : { netns: readStringValue(netnsExt.config.value) }),
  };
}
