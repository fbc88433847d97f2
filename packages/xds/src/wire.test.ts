import { describe, expect, it } from 'vitest';
import { DeltaDiscoveryResponse } from './gen/envoy/service/discovery/v3/discovery.js';
import { decodeDeltaResponse, deltaResponse, resourceEntry } from './wire.js';

const TYPE = 'type.googleapis.com/istio.workload.Address';

describe('hand-built delta responses', () => {
  it('decode with the generated decoder to exactly what the generated encoder would send', () => {
    const big = new Uint8Array(300).map((_, i) => i % 256); // multi-byte length varints
    const bytes = deltaResponse({
      systemVersionInfo: '42',
      typeUrl: TYPE,
      nonce: '7',
      entries: [
        resourceEntry(TYPE, 'Kubernetes//Pod/ns/pod-1', 'v1', new Uint8Array([1, 2, 3])),
        resourceEntry(TYPE, 'ns/svc.ns.svc.cluster.local', 'v2', big),
        resourceEntry(TYPE, 'ünïcode/name', 'v3', new Uint8Array()),
      ],
      removedResources: ['gone-1', 'gone-2'],
      controlPlaneId: 'weft-pilot',
    });
    const expected: DeltaDiscoveryResponse = {
      systemVersionInfo: '42',
      typeUrl: TYPE,
      nonce: '7',
      resources: [
        {
          name: 'Kubernetes//Pod/ns/pod-1',
          version: 'v1',
          aliases: [],
          resource: { typeUrl: TYPE, value: Buffer.from([1, 2, 3]) },
        },
        {
          name: 'ns/svc.ns.svc.cluster.local',
          version: 'v2',
          aliases: [],
          resource: { typeUrl: TYPE, value: Buffer.from(big) },
        },
        {
          name: 'ünïcode/name',
          version: 'v3',
          aliases: [],
          resource: { typeUrl: TYPE, value: Buffer.alloc(0) },
        },
      ],
      removedResources: ['gone-1', 'gone-2'],
      controlPlane: { identifier: 'weft-pilot' },
    };
    const decoded = DeltaDiscoveryResponse.decode(bytes);
    expect(decoded).toEqual(expected);
    // Same bytes as the generated encoder, modulo field order: re-encoding the decoded message round-trips.
    expect(DeltaDiscoveryResponse.decode(DeltaDiscoveryResponse.encode(decoded).finish())).toEqual(expected);
  });

  it('omits empty strings and encodes an empty response', () => {
    const bytes = deltaResponse({
      systemVersionInfo: '',
      typeUrl: TYPE,
      nonce: '1',
      entries: [],
      removedResources: [],
      controlPlaneId: '',
    });
    expect(DeltaDiscoveryResponse.decode(bytes)).toEqual({
      systemVersionInfo: '',
      typeUrl: TYPE,
      nonce: '1',
      resources: [],
      removedResources: [],
      controlPlane: { identifier: '' },
    });
    expect(
      bytes.equals(Buffer.from(DeltaDiscoveryResponse.encode(DeltaDiscoveryResponse.decode(bytes)).finish())),
    ).toBe(true);
  });

  it('decodes envelopes exactly as the generated decoder does, odd ones included', () => {
    const typical = deltaResponse({
      systemVersionInfo: '3',
      typeUrl: TYPE,
      nonce: '9',
      entries: [
        resourceEntry(TYPE, 'a', 'v1', new Uint8Array([1, 2, 3])),
        resourceEntry(TYPE, 'b', 'v2', new Uint8Array(200).fill(7)),
      ],
      removedResources: ['c'],
      controlPlaneId: 'weft-pilot',
    });
    // Generated encoding of a message with aliases and a resource without a body.
    const generated = DeltaDiscoveryResponse.encode({
      systemVersionInfo: '',
      typeUrl: TYPE,
      nonce: 'n',
      resources: [
        { name: 'x', version: 'v', aliases: ['x1', 'x2'], resource: undefined },
        { name: 'y', version: '', aliases: [], resource: { typeUrl: '', value: Buffer.alloc(0) } },
      ],
      removedResources: [],
      controlPlane: undefined,
    }).finish();
    // Unknown fields of every wire type, a known field with the wrong wire type, and repeated singular fields
    // (the last one wins).
    const odd = Buffer.concat([
      Buffer.from([0x48, 0x96, 0x01]), // field 9 varint
      Buffer.from([0x51, 1, 2, 3, 4, 5, 6, 7, 8]), // field 10 fixed64
      Buffer.from([0x5d, 1, 2, 3, 4]), // field 11 fixed32
      Buffer.from([0x62, 2, 0x61, 0x62]), // field 12 bytes
      Buffer.from([0x20, 5]), // type_url (4) as a varint: skipped
      Buffer.from([0x2a, 1, 0x31, 0x2a, 1, 0x32]), // nonce twice: "2"
      Buffer.from([0x12, 8, 0x1a, 1, 0x7a, 0x28, 1, 0x0a, 1, 0x76]), // a resource with an unknown varint field
      typical,
    ]);
    // Two type URLs in turn (the decoder reuses the text of a type URL it has just read).
    const mixed = deltaResponse({
      systemVersionInfo: '',
      typeUrl: TYPE,
      nonce: '1',
      entries: [
        resourceEntry(TYPE, 'a', 'v', new Uint8Array([1])),
        resourceEntry('type.googleapis.com/istio.workload.Addresz', 'b', 'v', new Uint8Array([2])),
        resourceEntry(TYPE, 'c', 'v', new Uint8Array([3])),
        resourceEntry('ünï', 'd', 'v', new Uint8Array([4])),
      ],
      removedResources: [],
      controlPlaneId: '',
    });
    expect(decodeDeltaResponse(mixed).resources.map((r) => r.resource?.typeUrl)).toEqual([
      TYPE,
      'type.googleapis.com/istio.workload.Addresz',
      TYPE,
      'ünï',
    ]);
    for (const bytes of [typical, Buffer.from(generated), odd, mixed]) {
      expect(decodeDeltaResponse(bytes)).toEqual(DeltaDiscoveryResponse.decode(bytes));
    }
    // A resource body is a view into the message, not a copy.
    const view = decodeDeltaResponse(typical).resources[1]?.resource?.value;
    expect(view?.buffer).toBe(typical.buffer);
    expect([...(view ?? [])].every((b) => b === 7)).toBe(true);
    // Truncated input fails like the generated decoder.
    const truncated = typical.subarray(0, typical.length - 30);
    expect(() => DeltaDiscoveryResponse.decode(truncated)).toThrow();
    expect(() => decodeDeltaResponse(truncated)).toThrow();
  });
});
