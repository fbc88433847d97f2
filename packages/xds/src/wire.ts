/**
 * The DeltaDiscoveryResponse envelope by hand, both ways.
 *
 * Server: a push to many clients encodes each resource once: the `Resource` entry (name, version,
 * Any{type_url, value}) is encoded when first sent and the same bytes are copied into every client's
 * response, instead of re-encoding every resource per client and per push.
 *
 * Client: `decodeDeltaResponse` reads the envelope like the generated decoder (same fields, defaults, wrong
 * wire types and unknown fields skipped, the same errors on truncated input), except that each resource's
 * Any.value is a view into the received message instead of a copy: the bodies are decoded right away and
 * not kept, so a full sync no longer copies every resource before decoding it.
 *
 * The layout is plain protobuf (field numbers from envoy/service/discovery/v3/discovery.proto); tests
 * compare both directions with the generated code.
 */
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { ControlPlane } from './gen/envoy/config/core/v3/base.js';
import type { DeltaDiscoveryResponse, Resource } from './gen/envoy/service/discovery/v3/discovery.js';
import type { Any } from './gen/google/protobuf/any.js';
import { putVarint, stops, varintSize } from './proto-wire.js';

// Field tags (field number << 3 | wire type 2).
const TAG_SYSTEM_VERSION = 0x0a; // DeltaDiscoveryResponse.system_version_info = 1
const TAG_RESOURCES = 0x12; // DeltaDiscoveryResponse.resources = 2
const TAG_TYPE_URL = 0x22; // DeltaDiscoveryResponse.type_url = 4
const TAG_NONCE = 0x2a; // DeltaDiscoveryResponse.nonce = 5
const TAG_REMOVED = 0x32; // DeltaDiscoveryResponse.removed_resources = 6
const TAG_CONTROL_PLANE = 0x3a; // DeltaDiscoveryResponse.control_plane = 7
const TAG_RESOURCE_VERSION = 0x0a; // Resource.version = 1
const TAG_RESOURCE_BODY = 0x12; // Resource.resource = 2
const TAG_RESOURCE_NAME = 0x1a; // Resource.name = 3
const TAG_ANY_TYPE_URL = 0x0a; // Any.type_url = 1
const TAG_ANY_VALUE = 0x12; // Any.value = 2
const TAG_IDENTIFIER = 0x0a; // ControlPlane.identifier = 1

/** Size of a length-delimited field whose payload is `len` bytes. */
const fieldSize = (len: number) => 1 + varintSize(len) + len;

function putBytes(buf: Buffer, at: number, tag: number, bytes: Uint8Array): number {
  buf[at++] = tag;
  at = putVarint(buf, at, bytes.length);
  buf.set(bytes, at);
  return at + bytes.length;
}

function putString(buf: Buffer, at: number, tag: number, text: Buffer): number {
  return putBytes(buf, at, tag, text);
}

/**
 * One `resources` entry of a DeltaDiscoveryResponse (tag included): Resource{version, Any{typeUrl, body},
 * name}. Concatenate entries with `deltaResponse`.
 */
export function resourceEntry(typeUrl: string, name: string, version: string, body: Uint8Array): Buffer {
  const t = Buffer.from(typeUrl);
  const n = Buffer.from(name);
  const v = Buffer.from(version);
  const anyLen = fieldSize(t.length) + fieldSize(body.length);
  const resourceLen = fieldSize(v.length) + fieldSize(anyLen) + fieldSize(n.length);
  const buf = Buffer.allocUnsafe(fieldSize(resourceLen));
  let at = 0;
  buf[at++] = TAG_RESOURCES;
  at = putVarint(buf, at, resourceLen);
  at = putString(buf, at, TAG_RESOURCE_VERSION, v);
  buf[at++] = TAG_RESOURCE_BODY;
  at = putVarint(buf, at, anyLen);
  at = putString(buf, at, TAG_ANY_TYPE_URL, t);
  at = putBytes(buf, at, TAG_ANY_VALUE, body);
  at = putString(buf, at, TAG_RESOURCE_NAME, n);
  if (at !== buf.length) throw new Error(`resource entry size mismatch (${at} != ${buf.length})`);
  return buf;
}

export interface DeltaResponseParts {
  readonly systemVersionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  /** From `resourceEntry`. */
  readonly entries: readonly Uint8Array[];
  readonly removedResources: readonly string[];
  readonly controlPlaneId: string;
}

/** The encoded DeltaDiscoveryResponse (empty strings are omitted, as protobuf encoders do). */
export function deltaResponse(parts: DeltaResponseParts): Buffer {
  const strings: [number, Buffer][] = [];
  const add = (tag: number, s: string) => {
    if (s !== '') strings.push([tag, Buffer.from(s)]);
  };
  add(TAG_SYSTEM_VERSION, parts.systemVersionInfo);
  add(TAG_TYPE_URL, parts.typeUrl);
  add(TAG_NONCE, parts.nonce);
  for (const r of parts.removedResources) strings.push([TAG_REMOVED, Buffer.from(r)]);
  const id = Buffer.from(parts.controlPlaneId);
  const controlPlaneLen = id.length === 0 ? 0 : fieldSize(id.length);
  let size = fieldSize(controlPlaneLen);
  for (const [, s] of strings) size += fieldSize(s.length);
  for (const e of parts.entries) size += e.length;
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  for (const [tag, s] of strings) if (tag === TAG_SYSTEM_VERSION) at = putString(buf, at, tag, s);
  for (const e of parts.entries) {
    buf.set(e, at);
    at += e.length;
  }
  for (const [tag, s] of strings) if (tag !== TAG_SYSTEM_VERSION) at = putString(buf, at, tag, s);
  buf[at++] = TAG_CONTROL_PLANE;
  at = putVarint(buf, at, controlPlaneLen);
  if (id.length > 0) at = putString(buf, at, TAG_IDENTIFIER, id);
  if (at !== size) throw new Error(`delta response size mismatch (${at} != ${size})`);
  return buf;
}

/** A response given as a message object or as bytes already encoded by `deltaResponse`. */
export type EncodedOrMessage = DeltaDiscoveryResponse | Buffer;

/** The last type URL read, as bytes and text: every resource of a response carries the same one. */
let lastTypeUrl: { bytes: Uint8Array; text: string } = { bytes: new Uint8Array(), text: '' };

function readTypeUrl(reader: BinaryReader): string {
  const start = reader.pos;
  const bytes = reader.bytes();
  const last = lastTypeUrl.bytes;
  if (bytes.length === last.length && bytes.length > 0) {
    let same = true;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== last[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastTypeUrl.text;
  }
  reader.pos = start;
  const text = reader.string();
  lastTypeUrl = { bytes: Uint8Array.from(bytes), text };
  return text;
}

function readAny(reader: BinaryReader, length: number): Any {
  const end = reader.pos + length;
  const any: Any = { typeUrl: '', value: EMPTY };
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 0x0a) any.typeUrl = readTypeUrl(reader);
    else if (tag === 0x12) any.value = asBuffer(reader.bytes());
    else {
      if (stops(tag)) break;
      reader.skip(tag & 7);
    }
  }
  return any;
}

function readResource(reader: BinaryReader, length: number): Resource {
  const end = reader.pos + length;
  const r: Resource = { version: '', resource: undefined, name: '', aliases: [] };
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 0x0a) r.version = reader.string();
    else if (tag === 0x12) r.resource = readAny(reader, reader.uint32());
    else if (tag === 0x1a) r.name = reader.string();
    else if (tag === 0x22) r.aliases.push(reader.string());
    else {
      if (stops(tag)) break;
      reader.skip(tag & 7);
    }
  }
  return r;
}

const EMPTY = Buffer.alloc(0);

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** DeltaDiscoveryResponse.decode, with resource bodies as views into `bytes` (see above). */
export function decodeDeltaResponse(bytes: Uint8Array): DeltaDiscoveryResponse {
  const reader = new BinaryReader(bytes);
  const m: DeltaDiscoveryResponse = {
    systemVersionInfo: '',
    resources: [],
    typeUrl: '',
    nonce: '',
    removedResources: [],
    controlPlane: undefined,
  };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    switch (tag) {
      case TAG_SYSTEM_VERSION:
        m.systemVersionInfo = reader.string();
        continue;
      case TAG_RESOURCES:
        m.resources.push(readResource(reader, reader.uint32()));
        continue;
      case TAG_TYPE_URL:
        m.typeUrl = reader.string();
        continue;
      case TAG_NONCE:
        m.nonce = reader.string();
        continue;
      case TAG_REMOVED:
        m.removedResources.push(reader.string());
        continue;
      case TAG_CONTROL_PLANE:
        m.controlPlane = ControlPlane.decode(reader, reader.uint32());
        continue;
    }
    if (stops(tag)) break;
    reader.skip(tag & 7);
  }
  return m;
}
