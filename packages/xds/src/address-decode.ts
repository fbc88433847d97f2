/**
 * istio.workload.Address bytes → the model, reading a Workload straight into a model Workload: no generated
 * message objects in between (map entries, port lists, copied address buffers), which is most of what a
 * node agent allocates on a full sync. Same result and same errors as the generated decoder followed by
 * workloadFromMsg: the field loop mirrors the generated one (wrong wire types and unknown fields skipped,
 * the last of a repeated singular field or oneof wins, an end-group tag or tag 0 ends the message), rare
 * sub-messages go through their generated decoders, and conversion checks run in the same order after the
 * whole message is read. Services use the generated decoder. A test compares both paths on many inputs.
 *
 * Strings that repeat across workloads (namespace, node, service account, service keys…) and port lists
 * are shared between workloads (intern.ts), and port lists, their entries and empty policy lists are frozen:
 * the model is read-only for its users.
 */

import { BinaryReader } from '@bufbuild/protobuf/wire';
import type { GatewayAddress, PortMapping, Workload } from '@weft/config';
import { XdsDecodeError } from './errors.js';
import { UInt32Value } from './gen/google/protobuf/wrappers.js';
import {
  ApplicationTunnel,
  Extension,
  GatewayAddress as GatewayAddressMsg,
  Locality,
  Service as ServiceMsg,
} from './gen/istio/workload/workload.js';
import { readSharedString, SharedByBytes } from './intern.js';
import { bytesToIp } from './ip.js';
import { stops } from './proto-wire.js';

const NETNS_EXTENSION = 'weft.dev/netns';
/** An extension named netns without a config (no netns, as when there is no such extension). */
const NO_NETNS = new Uint8Array(0);
/** Most workloads name no policy: one shared empty list. */
const NO_POLICIES: readonly string[] = Object.freeze([]);

const APP_PROTOCOLS = ['UNKNOWN', 'HTTP11', 'HTTP2', 'GRPC', 'TCP', 'TLS'] as const;
const WORKLOAD_TYPES = ['DEPLOYMENT', 'CRONJOB', 'POD', 'JOB'] as const;

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

function readPortList(reader: BinaryReader, length: number): readonly PortMapping[] {
  const end = reader.pos + length;
  const ports: PortMapping[] = [];
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 10) ports.push(Object.freeze(readPort(reader, reader.uint32())));
    else {
      if (stops(tag)) break;
      reader.skip(tag & 7);
    }
  }
  // slice: an exactly sized copy (a pushed-to array keeps spare capacity, and the model keeps this one).
  return Object.freeze(ports.slice());
}

/** Every endpoint of a service carries the same port list: one frozen copy for all of them. */
const portLists = new SharedByBytes<readonly PortMapping[]>();

function readSharedPortList(reader: BinaryReader, buf: Uint8Array): readonly PortMapping[] {
  const length = reader.uint32();
  const start = reader.pos;
  const end = start + length;
  if (end > reader.len) return readPortList(reader, length);
  const ports = portLists.get(buf, start, end, () => readPortList(reader, length));
  reader.pos = end;
  return ports;
}

/** One `services` map entry into `into` (a later value for a key replaces the earlier one). */
function readServicesEntry(
  reader: BinaryReader,
  buf: Uint8Array,
  length: number,
  into: Record<string, readonly PortMapping[]>,
): void {
  const end = reader.pos + length;
  let key = '';
  let ports: readonly PortMapping[] | undefined;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 10) key = readSharedString(reader, buf);
    else if (tag === 18) ports = readSharedPortList(reader, buf);
    else {
      if (stops(tag)) break;
      reader.skip(tag & 7);
    }
  }
  // The generated path stores entries on a plain object and copies its own entries: `__proto__` never shows.
  if (ports !== undefined && key !== '__proto__') into[key] = ports;
}

/** An address's text, or its byte length when that is neither 4 nor 16 (reported after the whole message). */
function readIp(reader: BinaryReader, b: Uint8Array): string | number {
  const length = reader.uint32();
  const start = reader.pos;
  reader.pos += length;
  if (reader.pos > reader.len) throw new RangeError('premature EOF');
  if (length === 4) return `${b[start]}.${b[start + 1]}.${b[start + 2]}.${b[start + 3]}`;
  if (length === 16) return bytesToIp(b.subarray(start, start + 16));
  return length;
}

/**
 * A Workload message read straight into the model, or the conversion error it fails with: conversion errors
 * are reported only once the whole Address is read, as the generated path did (a later oneof field wins, a
 * later decode error comes first).
 */
function readWorkload(
  reader: BinaryReader,
  buf: Uint8Array,
  length: number,
  gatewayFromMsg: (g: GatewayAddressMsg) => GatewayAddress,
): Workload | XdsDecodeError {
  const end = reader.pos + length;
  let uid = '';
  let name = '';
  let namespace = '';
  const addresses: string[] = [];
  let badAddress = -1;
  let network = '';
  let tunnelProtocol = 0;
  let trustDomain = '';
  let serviceAccount = '';
  let waypoint: GatewayAddressMsg | undefined;
  let node = '';
  let canonicalName = '';
  let canonicalRevision = '';
  let workloadType = 0;
  let workloadName = '';
  const services: Record<string, readonly PortMapping[]> = {};
  const authorizationPolicies: string[] = [];
  let status = 0;
  let clusterId = '';
  let netns: Uint8Array | undefined;
  while (reader.pos < end) {
    const tag = reader.uint32();
    // Tags are (field number << 3) | wire type, as in workload.proto: 162 = uid (20, bytes), 40 = tunnel (5, varint).
    switch (tag) {
      case 162:
        uid = reader.string();
        continue;
      case 10:
        name = reader.string();
        continue;
      case 18:
        namespace = readSharedString(reader, buf);
        continue;
      case 26: {
        const ip = readIp(reader, buf);
        if (typeof ip === 'string') addresses.push(ip);
        else if (badAddress < 0) badAddress = ip;
        continue;
      }
      case 170: // hostname: not in the model
        reader.string();
        continue;
      case 34:
        network = readSharedString(reader, buf);
        continue;
      case 40:
        tunnelProtocol = reader.int32();
        continue;
      case 50:
        trustDomain = readSharedString(reader, buf);
        continue;
      case 58:
        serviceAccount = readSharedString(reader, buf);
        continue;
      case 66:
        waypoint = GatewayAddressMsg.decode(reader, reader.uint32());
        continue;
      case 154: // network_gateway: read (and checked) as generated, not in the model
        GatewayAddressMsg.decode(reader, reader.uint32());
        continue;
      case 74:
        node = readSharedString(reader, buf);
        continue;
      case 82:
        canonicalName = readSharedString(reader, buf);
        continue;
      case 90:
        canonicalRevision = readSharedString(reader, buf);
        continue;
      case 96:
        workloadType = reader.int32();
        continue;
      case 106:
        workloadName = readSharedString(reader, buf);
        continue;
      case 112: // native_tunnel
        reader.bool();
        continue;
      case 186: // application_tunnel
        ApplicationTunnel.decode(reader, reader.uint32());
        continue;
      case 178:
        readServicesEntry(reader, buf, reader.uint32(), services);
        continue;
      case 130:
        authorizationPolicies.push(readSharedString(reader, buf));
        continue;
      case 136:
        status = reader.int32();
        continue;
      case 146:
        clusterId = readSharedString(reader, buf);
        continue;
      case 194: // locality
        Locality.decode(reader, reader.uint32());
        continue;
      case 200: // network_mode
        reader.int32();
        continue;
      case 210: {
        // The first extension of this name counts, as workloadFromMsg's find() did.
        const ext = Extension.decode(reader, reader.uint32());
        if (ext.name === NETNS_EXTENSION && netns === undefined) netns = ext.config?.value ?? NO_NETNS;
        continue;
      }
      case 218: // capacity
        UInt32Value.decode(reader, reader.uint32());
        continue;
    }
    if (stops(tag)) break;
    reader.skip(tag & 7);
  }
  // The conversion checks of workloadFromMsg, in its order.
  if (uid === '') return new XdsDecodeError('workload without uid');
  if (badAddress >= 0) return new XdsDecodeError(`an address has ${badAddress} bytes; expected 4 or 16`);
  const w: Workload = {
    uid,
    name,
    namespace,
    addresses: addresses.slice(),
    network,
    tunnelProtocol: tunnelProtocol === 1 ? 'HBONE' : 'NONE',
    trustDomain: trustDomain === '' ? 'cluster.local' : trustDomain,
    serviceAccount: serviceAccount === '' ? 'default' : serviceAccount,
    node,
    canonicalName,
    canonicalRevision,
    workloadType: WORKLOAD_TYPES[workloadType] ?? 'POD',
    workloadName,
    services,
    authorizationPolicies: authorizationPolicies.length === 0 ? NO_POLICIES : authorizationPolicies,
    status: status === 1 ? 'UNHEALTHY' : 'HEALTHY',
    clusterId,
  };
  if (waypoint === undefined && (netns === undefined || netns === NO_NETNS)) return w;
  try {
    return {
      ...w,
      ...(waypoint === undefined ? {} : { waypoint: gatewayFromMsg(waypoint) }),
      ...(netns === undefined || netns === NO_NETNS ? {} : { netns: readStringValue(netns) }),
    };
  } catch (err) {
    if (err instanceof XdsDecodeError) return err;
    throw err;
  }
}

type RawAddress =
  | { kind: 'workload'; workload: Workload | XdsDecodeError }
  | { kind: 'service'; service: ServiceMsg }
  | undefined;

/**
 * The Address message: the last of its oneof fields wins (each one is read in full). A workload that fails
 * conversion comes back as its error, for the caller to throw once the whole message decoded.
 */
export function readAddress(
  bytes: Uint8Array,
  gatewayFromMsg: (g: GatewayAddressMsg) => GatewayAddress,
): RawAddress {
  const reader = new BinaryReader(bytes);
  let out: RawAddress;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 10)
      out = { kind: 'workload', workload: readWorkload(reader, bytes, reader.uint32(), gatewayFromMsg) };
    else if (tag === 18) out = { kind: 'service', service: ServiceMsg.decode(reader, reader.uint32()) };
    else {
      if (stops(tag)) break;
      reader.skip(tag & 7);
    }
  }
  return out;
}

function readStringValue(b: Uint8Array): string {
  if (b.length < 2 || b[0] !== 0x0a || b[1] !== b.length - 2) throw new XdsDecodeError('bad netns extension');
  return Buffer.from(b.subarray(2)).toString('utf8');
}
