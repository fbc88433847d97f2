import type { Workload } from '@weft/config';
import { describe, expect, it } from 'vitest';
import { decodeAddress, serviceFromMsg, workloadFromMsg, workloadToMsg } from './convert.js';
import { XdsDecodeError } from './errors.js';
import { Address as AddressMsg, type Workload as WorkloadMsg } from './gen/istio/workload/workload.js';
import { fullWorkload } from './test-fixtures.js';

/** What decodeAddress did before address-decode.ts: the generated decoder, then workloadFromMsg. */
function reference(bytes: Uint8Array): unknown {
  let msg: AddressMsg;
  try {
    msg = AddressMsg.decode(bytes);
  } catch (err) {
    return { error: new XdsDecodeError('undecodable istio.workload.Address', err).message };
  }
  try {
    const t = msg.type;
    if (t?.$case === 'workload') return { kind: 'workload', workload: workloadFromMsg(t.value) };
    if (t?.$case === 'service') return { kind: 'service', service: serviceFromMsg(t.value) };
    return { error: 'istio.workload.Address with neither workload nor service' };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function direct(bytes: Uint8Array): unknown {
  try {
    return decodeAddress(bytes);
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const base: Workload = fullWorkload;

const msgOf = (w: Workload, extra: Partial<WorkloadMsg> = {}): Uint8Array =>
  AddressMsg.encode({ type: { $case: 'workload', value: { ...workloadToMsg(w), ...extra } } }).finish();

const varint = (n: number) => {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
};
/** Address{workload = <body>} around raw workload bytes. */
const wrap = (body: number[]) => Uint8Array.from([0x0a, ...varint(body.length), ...body]);
const str = (tag: number, s: string) => [...varint(tag), ...varint(Buffer.byteLength(s)), ...Buffer.from(s)];

describe('decodeAddress reads workloads straight into the model', () => {
  it('gives what the generated decoder and workloadFromMsg give, on every shape we send', () => {
    const cases: Uint8Array[] = [
      msgOf(base),
      msgOf({ ...base, tunnelProtocol: 'NONE', status: 'HEALTHY', workloadType: 'POD', services: {} }),
      msgOf({ ...base, trustDomain: '', serviceAccount: '' }), // defaults on the wire → model defaults
      msgOf({ ...base, waypoint: { address: { network: '', ip: '10.96.0.99' }, hboneMtlsPort: 15008 } }),
      msgOf({
        ...base,
        waypoint: { hostname: { namespace: 'w', hostname: 'wp.w.svc' }, hboneMtlsPort: 15008 },
      }),
      msgOf({ ...base, netns: '/var/run/netns/cni-1234' }),
      msgOf(base, { workloadType: 7 as never, tunnelProtocol: 2 as never, status: 5 as never }),
      msgOf(base, {
        hostname: 'h',
        nativeTunnel: true,
        networkMode: 1 as never,
        capacity: 3,
        locality: { region: 'r', zone: 'z', subzone: 's' },
        applicationTunnel: { protocol: 1 as never, port: 15088 },
        networkGateway: { destination: undefined, hboneMtlsPort: 15008 },
        services: {
          __proto__: { ports: [{ servicePort: 1, targetPort: 2, appProtocol: 1 }] },
          '10': { ports: [] },
          a: { ports: [{ servicePort: 5, targetPort: 0, appProtocol: 99 as never }] },
        } as never,
      }),
      msgOf({ ...base, uid: '' }), // refused: no uid
      msgOf(base, { addresses: [Buffer.from([1, 2, 3])] }), // refused: 3-byte address
      AddressMsg.encode({
        type: {
          $case: 'service',
          value: {
            name: 's',
            namespace: 'n',
            hostname: 's.n.svc',
            addresses: [{ network: '', address: Buffer.from([10, 96, 0, 1]), length: undefined }],
            ports: [{ servicePort: 80, targetPort: 8080, appProtocol: 1 }],
            subjectAltNames: [],
            waypoint: undefined,
            loadBalancing: undefined,
            ipFamilies: 0,
            extensions: [],
            canonical: true,
            ingressUseWaypoint: false,
            weightedWaypoints: [],
            visibility: 0,
          },
        },
      }).finish(),
      new Uint8Array(), // neither
    ];
    for (const bytes of cases) expect(direct(bytes)).toEqual(reference(bytes));
    const ok = direct(msgOf(base)) as { workload: Workload };
    expect(ok.workload).toEqual(base);
  });

  it('matches on odd bytes: unknown fields, wrong wire types, repeats, early ends, truncation', () => {
    const uid = str(162, 'u1');
    const cases: Uint8Array[] = [
      wrap([...uid, 0x48, 0x01, ...str(10, 'n')]), // unknown varint field 9? (9<<3|0 = 72): node as a varint, skipped
      wrap([...uid, 0x0d, 1, 2, 3, 4, ...str(10, 'n')]), // name (1) as fixed32: skipped
      wrap([...uid, ...str(10, 'first'), ...str(10, 'second')]), // the last name wins
      wrap([...uid, 0x00, ...str(10, 'after-zero')]), // tag 0 ends the workload early
      wrap([...uid, 0x0c, ...str(10, 'after-end-group')]), // end-group tag ends it too
      wrap([...uid, ...str(178, '')]), // a services entry with neither key nor value
      wrap([...uid, 0xb2, 0x01, 0x04, 0x12, 0x02, 0x0a, 0x00]), // entry: no key, a list with one empty port
      wrap([...uid, 0x1a, 0x04, 10, 0, 0, 1, 0x1a, 0x10, ...new Array(16).fill(0)]), // IPv4 and ::
      Uint8Array.from([...wrap([...uid]), 0x12, 0x00]), // workload, then an (empty) service: the service wins
      Uint8Array.from([0x12, 0x00, ...wrap([...uid, ...str(10, 'x')])]), // service, then workload: workload wins
      Uint8Array.from([...wrap([...str(10, 'no-uid')]), ...wrap([...uid])]), // an earlier bad workload is replaced
      wrap([...uid, ...str(10, 'abc')]).subarray(0, 7), // truncated
      Uint8Array.from([0x0a, 0x05, 0xa2, 0x01, 0x10]), // a length running past the end
      Uint8Array.from([0x0f]), // wire type 7
    ];
    for (const bytes of cases) expect(direct(bytes)).toEqual(reference(bytes));
  });
});
