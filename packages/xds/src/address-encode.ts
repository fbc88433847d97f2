/**
 * A model Workload or Service → istio.workload.Address bytes, written straight from the model: no generated
 * message objects in between (port lists, map entries, address buffers) and no writer growing and shifting
 * bytes for each sub-message, which is most of what pilot spends encoding a full sync. Sizes are computed
 * first, then everything is written into one exactly sized buffer. The bytes are those of the generated
 * encoder over workloadToMsg / serviceToMsg: the same field order, defaults left out, `services` entries in
 * Object.entries order, the netns extension. A test compares both paths on many workloads and services.
 *
 * Bad input throws, as the generated path does: an address that is not an IP or a netns name over 127 bytes
 * (XdsDecodeError from ip.ts and here), a port or enum that is not a uint32.
 */
import type { GatewayAddress, NetworkAddress, PortMapping, Service, Workload } from '@weft/config';
import { XdsDecodeError } from './errors.js';
import { AppProtocol, WorkloadStatus, WorkloadType } from './gen/istio/workload/workload.js';
import { ipToBytes } from './ip.js';
import { putVarint, varintSize } from './proto-wire.js';

// Tags, (field number << 3) | wire type, as in workload.proto. Workload:
const UID = 162;
const NAME = 10;
const NAMESPACE = 18;
const ADDRESSES = 26;
const NETWORK = 34;
const TUNNEL_PROTOCOL = 40;
const TRUST_DOMAIN = 50;
const SERVICE_ACCOUNT = 58;
const WAYPOINT = 66;
const NODE = 74;
const CANONICAL_NAME = 82;
const CANONICAL_REVISION = 90;
const WORKLOAD_TYPE = 96;
const WORKLOAD_NAME = 106;
const SERVICES = 178;
const AUTHORIZATION_POLICIES = 130;
const STATUS = 136;
const CLUSTER_ID = 146;
const EXTENSIONS = 210;
// Service:
const SERVICE_NAME = 10;
const SERVICE_NAMESPACE = 18;
const SERVICE_HOSTNAME = 26;
const SERVICE_ADDRESSES = 34;
const SERVICE_PORTS = 42;
const SUBJECT_ALT_NAMES = 50;
const SERVICE_WAYPOINT = 58;
const CANONICAL = 88;
const INGRESS_USE_WAYPOINT = 96;
// Field 1 (length-delimited), 2 (length-delimited), 1, 2, 3 (varint): Address.workload, map entries,
// Address.service, PortList.ports, GatewayAddress, NetworkAddress, NamespacedHostname, Extension, Any,
// StringValue.
const LEN1 = 10;
const LEN2 = 18;
const VARINT1 = 8;
const VARINT2 = 16;
const VARINT3 = 24;

const NETNS_EXTENSION = 'weft.dev/netns';
const STRING_VALUE_TYPE = 'type.googleapis.com/google.protobuf.StringValue';
/** Extension.name, the same for every pod. */
const NETNS_NAME = Buffer.from([LEN1, NETNS_EXTENSION.length, ...Buffer.from(NETNS_EXTENSION)]);
/** Any.type_url, the same for every pod. */
const NETNS_TYPE = Buffer.from([LEN1, STRING_VALUE_TYPE.length, ...Buffer.from(STRING_VALUE_TYPE)]);

/** Bytes of a varint holding v, which must be a uint32 (as the generated writer asserts). */
function uint32Size(v: number): number {
  if (v >>> 0 !== v) throw new XdsDecodeError(`${v} is not a uint32 (port or enum value)`);
  return varintSize(v);
}

/** A length-delimited field: tag, length prefix, body. */
const delimited = (tag: number, length: number) => varintSize(tag) + varintSize(length) + length;

/** UTF-8 bytes of s; equal to s.length exactly when s is ASCII. */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

/** A string field, left out when empty (as for every singular string field here). */
function stringSize(tag: number, s: string): number {
  return s === '' ? 0 : delimited(tag, utf8Length(s));
}

/**
 * A string field even when empty (repeated strings). ASCII, nearly every string here, is copied as it is
 * checked, behind a length prefix of s.length; at the first other character the field is rewritten from
 * its start at its UTF-8 length (which covers every byte written so far). Measured faster than checking
 * first and copying with buf.write(s, at, 'latin1'): one pass over the string instead of two, no native call.
 */
function putString(buf: Buffer, at: number, tag: number, s: string): number {
  const start = putVarint(buf, at, tag);
  const length = s.length;
  let p = putVarint(buf, start, length);
  for (let i = 0; i < length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) {
      p = putVarint(buf, start, Buffer.byteLength(s, 'utf8'));
      return p + buf.write(s, p, 'utf8');
    }
    buf[p++] = c;
  }
  return p;
}

function putOptionalString(buf: Buffer, at: number, tag: number, s: string): number {
  return s === '' ? at : putString(buf, at, tag, s);
}

/** A uint32 or enum field, left out when 0. */
function numberSize(tag: number, v: number): number {
  return v === 0 ? 0 : varintSize(tag) + uint32Size(v);
}

function putNumber(buf: Buffer, at: number, tag: number, v: number): number {
  return v === 0 ? at : putVarint(buf, putVarint(buf, at, tag), v);
}

/** A length-delimited field's tag and length prefix. */
function putHead(buf: Buffer, at: number, tag: number, length: number): number {
  return putVarint(buf, putVarint(buf, at, tag), length);
}

/** 4 bytes for IPv4 text, 16 for IPv6 (which always has a colon); checked when written. */
const ipSize = (ip: string) => (ip.includes(':') ? 16 : 4);

/**
 * Dotted-quad IPv4 text straight into buf, accepting exactly what node:net isIP accepts as IPv4 (no leading
 * zeros); anything else (IPv6, or not an IP) goes through ipToBytes, which throws for non-IPs.
 */
function putIp(buf: Buffer, at: number, ip: string): number {
  if (ipSize(ip) === 4 && putIpv4(buf, at, ip)) return at + 4;
  const bytes = ipToBytes(ip);
  buf.set(bytes, at);
  return at + bytes.length;
}

function putIpv4(buf: Buffer, at: number, ip: string): boolean {
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || parts === 3) return false;
      buf[at + parts++] = part;
      part = 0;
      digits = 0;
    } else {
      if (c < 48 || c > 57 || (digits > 0 && part === 0)) return false;
      part = part * 10 + c - 48;
      if (part > 255) return false;
      digits++;
    }
  }
  if (digits === 0 || parts !== 3) return false;
  buf[at + 3] = part;
  return true;
}

function portSize(p: PortMapping): number {
  return (
    numberSize(VARINT1, p.servicePort) +
    numberSize(VARINT2, p.targetPort) +
    numberSize(VARINT3, AppProtocol[p.appProtocol])
  );
}

function portsSize(tag: number, ports: readonly PortMapping[]): number {
  let n = 0;
  for (const p of ports) n += delimited(tag, portSize(p));
  return n;
}

/** Each port as a Port message under tag (PortList.ports, Service.ports). */
function putPorts(buf: Buffer, at: number, tag: number, ports: readonly PortMapping[]): number {
  for (const p of ports) {
    at = putHead(buf, at, tag, portSize(p));
    at = putNumber(buf, at, VARINT1, p.servicePort);
    at = putNumber(buf, at, VARINT2, p.targetPort);
    at = putNumber(buf, at, VARINT3, AppProtocol[p.appProtocol]);
  }
  return at;
}

/** A `services` map entry: key (left out when empty), then the PortList (always present). */
const entrySize = (key: string, ports: readonly PortMapping[]) =>
  stringSize(LEN1, key) + delimited(LEN2, portsSize(LEN1, ports));

/**
 * The generated path copies `services` into a fresh object, where a `__proto__` key sets the prototype
 * instead of adding an entry: it never reaches the wire.
 */
const sentKey = (key: string) => key !== '__proto__';

/** NetworkAddress{network, address}; its prefix length is never set. */
const networkAddressSize = (a: NetworkAddress) => stringSize(LEN1, a.network) + delimited(LEN2, ipSize(a.ip));

function putNetworkAddress(buf: Buffer, at: number, a: NetworkAddress): number {
  at = putOptionalString(buf, at, LEN1, a.network);
  return putIp(buf, putHead(buf, at, LEN2, ipSize(a.ip)), a.ip);
}

/** GatewayAddress: hostname wins over address (gatewayToMsg), the oneof is written even when empty. */
function gatewaySize(g: GatewayAddress): number {
  let n = numberSize(VARINT3, g.hboneMtlsPort);
  if (g.hostname !== undefined) {
    n += delimited(LEN1, stringSize(LEN1, g.hostname.namespace) + stringSize(LEN2, g.hostname.hostname));
  } else if (g.address !== undefined) {
    n += delimited(LEN2, networkAddressSize(g.address));
  }
  return n;
}

function putGateway(buf: Buffer, at: number, g: GatewayAddress): number {
  if (g.hostname !== undefined) {
    const { namespace, hostname } = g.hostname;
    at = putHead(buf, at, LEN1, stringSize(LEN1, namespace) + stringSize(LEN2, hostname));
    at = putOptionalString(buf, at, LEN1, namespace);
    at = putOptionalString(buf, at, LEN2, hostname);
  } else if (g.address !== undefined) {
    at = putNetworkAddress(buf, putHead(buf, at, LEN2, networkAddressSize(g.address)), g.address);
  }
  return putNumber(buf, at, VARINT3, g.hboneMtlsPort);
}

/** The netns name's UTF-8 length: StringValue{value} is written with one length byte, as convert.ts does. */
function netnsLength(netns: string): number {
  const n = Buffer.byteLength(netns, 'utf8');
  if (n > 127) throw new XdsDecodeError('netns name too long (max 127 bytes)');
  return n;
}

/** Any{type_url, value: StringValue{value}} for a netns of n bytes (the StringValue is n + 2 bytes). */
const netnsAnySize = (n: number) => NETNS_TYPE.length + delimited(LEN2, n + 2);
/** Extension{name, config: Any}. */
const netnsExtensionSize = (n: number) => NETNS_NAME.length + delimited(LEN2, netnsAnySize(n));

function putNetns(buf: Buffer, at: number, netns: string, n: number): number {
  at = putHead(buf, at, EXTENSIONS, netnsExtensionSize(n));
  at += NETNS_NAME.copy(buf, at);
  at = putHead(buf, at, LEN2, netnsAnySize(n));
  at += NETNS_TYPE.copy(buf, at);
  at = putHead(buf, at, LEN2, n + 2);
  at = putHead(buf, at, LEN1, n);
  return at + buf.write(netns, at, 'utf8');
}

/** The Workload message's size; netns is the netns name's byte length, or -1 without one. */
function workloadSize(w: Workload, netns: number): number {
  let n =
    stringSize(UID, w.uid) +
    stringSize(NAME, w.name) +
    stringSize(NAMESPACE, w.namespace) +
    stringSize(NETWORK, w.network) +
    (w.tunnelProtocol === 'HBONE' ? 2 : 0) +
    stringSize(TRUST_DOMAIN, w.trustDomain) +
    stringSize(SERVICE_ACCOUNT, w.serviceAccount) +
    stringSize(NODE, w.node) +
    stringSize(CANONICAL_NAME, w.canonicalName) +
    stringSize(CANONICAL_REVISION, w.canonicalRevision) +
    numberSize(WORKLOAD_TYPE, WorkloadType[w.workloadType]) +
    stringSize(WORKLOAD_NAME, w.workloadName) +
    numberSize(STATUS, WorkloadStatus[w.status]) +
    stringSize(CLUSTER_ID, w.clusterId);
  for (const ip of w.addresses) n += delimited(ADDRESSES, ipSize(ip));
  if (w.waypoint !== undefined) n += delimited(WAYPOINT, gatewaySize(w.waypoint));
  const services = w.services;
  for (const key of Object.keys(services)) {
    const ports = services[key];
    if (ports !== undefined && sentKey(key)) n += delimited(SERVICES, entrySize(key, ports));
  }
  for (const p of w.authorizationPolicies) n += delimited(AUTHORIZATION_POLICIES, utf8Length(p));
  if (netns >= 0) n += delimited(EXTENSIONS, netnsExtensionSize(netns));
  return n;
}

/** Address{workload: w}, byte for byte what the generated encoder writes for workloadToMsg(w). */
export function encodeWorkloadAddress(w: Workload): Uint8Array {
  const netns = w.netns === undefined ? -1 : netnsLength(w.netns);
  const size = workloadSize(w, netns);
  // Its own allocation, as the generated encoder's: pilot keeps every body, and a slice of Node's shared
  // pool would keep a whole 8 KiB block alive for as long as any body in it is served.
  const buf = Buffer.allocUnsafeSlow(delimited(LEN1, size));
  let at = putHead(buf, 0, LEN1, size);
  at = putOptionalString(buf, at, UID, w.uid);
  at = putOptionalString(buf, at, NAME, w.name);
  at = putOptionalString(buf, at, NAMESPACE, w.namespace);
  for (const ip of w.addresses) at = putIp(buf, putHead(buf, at, ADDRESSES, ipSize(ip)), ip);
  at = putOptionalString(buf, at, NETWORK, w.network);
  if (w.tunnelProtocol === 'HBONE') {
    buf[at++] = TUNNEL_PROTOCOL;
    buf[at++] = 1;
  }
  at = putOptionalString(buf, at, TRUST_DOMAIN, w.trustDomain);
  at = putOptionalString(buf, at, SERVICE_ACCOUNT, w.serviceAccount);
  if (w.waypoint !== undefined)
    at = putGateway(buf, putHead(buf, at, WAYPOINT, gatewaySize(w.waypoint)), w.waypoint);
  at = putOptionalString(buf, at, NODE, w.node);
  at = putOptionalString(buf, at, CANONICAL_NAME, w.canonicalName);
  at = putOptionalString(buf, at, CANONICAL_REVISION, w.canonicalRevision);
  at = putNumber(buf, at, WORKLOAD_TYPE, WorkloadType[w.workloadType]);
  at = putOptionalString(buf, at, WORKLOAD_NAME, w.workloadName);
  const services = w.services;
  for (const key of Object.keys(services)) {
    const ports = services[key];
    if (ports === undefined || !sentKey(key)) continue;
    at = putHead(buf, at, SERVICES, entrySize(key, ports));
    at = putOptionalString(buf, at, LEN1, key);
    at = putPorts(buf, putHead(buf, at, LEN2, portsSize(LEN1, ports)), LEN1, ports);
  }
  for (const p of w.authorizationPolicies) at = putString(buf, at, AUTHORIZATION_POLICIES, p);
  at = putNumber(buf, at, STATUS, WorkloadStatus[w.status]);
  at = putOptionalString(buf, at, CLUSTER_ID, w.clusterId);
  if (w.netns !== undefined) at = putNetns(buf, at, w.netns, netns);
  return checked(buf, at, w.uid);
}

/** The Service message's size. */
function serviceSize(s: Service): number {
  let n =
    stringSize(SERVICE_NAME, s.name) +
    stringSize(SERVICE_NAMESPACE, s.namespace) +
    stringSize(SERVICE_HOSTNAME, s.hostname) +
    portsSize(SERVICE_PORTS, s.ports) +
    2 + // canonical: always true
    (s.ingressUseWaypoint ? 2 : 0);
  for (const a of s.addresses) n += delimited(SERVICE_ADDRESSES, networkAddressSize(a));
  for (const san of s.subjectAltNames) n += delimited(SUBJECT_ALT_NAMES, utf8Length(san));
  if (s.waypoint !== undefined) n += delimited(SERVICE_WAYPOINT, gatewaySize(s.waypoint));
  return n;
}

/** Address{service: s}, byte for byte what the generated encoder writes for serviceToMsg(s). */
export function encodeServiceAddress(s: Service): Uint8Array {
  const size = serviceSize(s);
  const buf = Buffer.allocUnsafeSlow(delimited(LEN2, size)); // its own allocation: see above
  let at = putHead(buf, 0, LEN2, size);
  at = putOptionalString(buf, at, SERVICE_NAME, s.name);
  at = putOptionalString(buf, at, SERVICE_NAMESPACE, s.namespace);
  at = putOptionalString(buf, at, SERVICE_HOSTNAME, s.hostname);
  for (const a of s.addresses)
    at = putNetworkAddress(buf, putHead(buf, at, SERVICE_ADDRESSES, networkAddressSize(a)), a);
  at = putPorts(buf, at, SERVICE_PORTS, s.ports);
  for (const san of s.subjectAltNames) at = putString(buf, at, SUBJECT_ALT_NAMES, san);
  if (s.waypoint !== undefined)
    at = putGateway(buf, putHead(buf, at, SERVICE_WAYPOINT, gatewaySize(s.waypoint)), s.waypoint);
  buf[at++] = CANONICAL;
  buf[at++] = 1;
  if (s.ingressUseWaypoint) {
    buf[at++] = INGRESS_USE_WAYPOINT;
    buf[at++] = 1;
  }
  return checked(buf, at, s.hostname);
}

/** allocUnsafe memory holds old bytes: a size that disagreed with what was written must never be sent. */
function checked(buf: Buffer, written: number, name: string): Buffer {
  if (written !== buf.length) throw new Error(`${name}: encoded ${written} bytes of ${buf.length}`);
  return buf;
}
