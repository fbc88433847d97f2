import type { GatewayAddress, PortMapping, Service, Workload } from '@weft/config';
import { describe, expect, it } from 'vitest';
import { encodeServiceAddress, encodeWorkloadAddress } from './address-encode.js';
import { decodeAddress, serviceToMsg, workloadToMsg } from './convert.js';
import { XdsDecodeError } from './errors.js';
import { Address as AddressMsg } from './gen/istio/workload/workload.js';
import { fullWorkload } from './test-fixtures.js';

/** What encodeAddress did before address-encode.ts. */
const reference = (w: Workload): Uint8Array =>
  AddressMsg.encode({ type: { $case: 'workload', value: workloadToMsg(w) } }).finish();
const serviceReference = (s: Service): Uint8Array =>
  AddressMsg.encode({ type: { $case: 'service', value: serviceToMsg(s) } }).finish();

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** An IP as the decoder spells it. */
const decodeIp = (ip: string) => {
  const back = decodeAddress(reference({ ...base, addresses: [ip] }));
  return back.kind === 'workload' ? back.workload.addresses[0] : undefined;
};

const base: Workload = fullWorkload;

const empty: Workload = {
  uid: '',
  name: '',
  namespace: '',
  addresses: [],
  network: '',
  tunnelProtocol: 'NONE',
  trustDomain: '',
  serviceAccount: '',
  node: '',
  canonicalName: '',
  canonicalRevision: '',
  workloadType: 'DEPLOYMENT',
  workloadName: '',
  services: {},
  authorizationPolicies: [],
  status: 'HEALTHY',
  clusterId: '',
};

const waypoints: GatewayAddress[] = [
  { hostname: { namespace: 'prod', hostname: 'waypoint.prod.svc.cluster.local' }, hboneMtlsPort: 15008 },
  { hostname: { namespace: '', hostname: '' }, hboneMtlsPort: 0 },
  { address: { network: 'net1', ip: '10.96.0.9' }, hboneMtlsPort: 15008 },
  { address: { network: '', ip: '2001:db8::1' }, hboneMtlsPort: 0 },
  { address: { network: 'ñet', ip: '::ffff:10.0.0.1' }, hboneMtlsPort: 2 ** 32 - 1 },
  // Both set: hostname wins, as in gatewayToMsg.
  {
    hostname: { namespace: 'a', hostname: 'b' },
    address: { network: 'n', ip: '10.0.0.1' },
    hboneMtlsPort: 1,
  },
  { hboneMtlsPort: 15008 },
  { hboneMtlsPort: 0 },
];

const cases: [string, Workload][] = [
  ['every field', base],
  ['nothing set', empty],
  ['defaults elsewhere', { ...base, tunnelProtocol: 'NONE', status: 'HEALTHY', workloadType: 'POD' }],
  ['cronjob', { ...base, workloadType: 'CRONJOB' }],
  ['job', { ...base, workloadType: 'JOB' }],
  ['IPv6 only', { ...base, addresses: ['fd00:1:2:3:4:5:6:7', '::', '::1', 'fe80::1:2'] }],
  ['IPv4 edges', { ...base, addresses: ['0.0.0.0', '255.255.255.255', '1.2.3.4', '10.0.0.100'] }],
  ['many addresses', { ...base, addresses: Array.from({ length: 40 }, (_, i) => `10.0.${i}.${i * 3}`) }],
  ['non-ASCII strings', { ...base, name: 'ördérs-0', namespace: 'прод', node: '节点-1', clusterId: '🚀' }],
  ['lone surrogate', { ...base, workloadName: 'a\ud800b', canonicalRevision: '\udc00' }],
  ['latin1 but not ASCII', { ...base, canonicalName: 'café\u00ff', trustDomain: '\u0080' }],
  ['non-ASCII at the end, past a 1-byte length', { ...base, namespace: `${'a'.repeat(120)}éééééé` }],
  ['long strings', { ...base, uid: 'x'.repeat(200), name: 'y'.repeat(20_000), node: 'é'.repeat(100) }],
  ['empty and odd policies', { ...base, authorizationPolicies: ['', 'ns/ü', '', 'p'.repeat(300)] }],
  ['netns', { ...base, netns: 'cni-1234-abcd' }],
  ['empty netns', { ...base, netns: '' }],
  ['netns of 127 bytes', { ...base, netns: 'n'.repeat(127) }],
  ['non-ASCII netns', { ...base, netns: 'ns-ü'.repeat(20) }],
  ['netns on an empty workload', { ...empty, netns: 'x'.repeat(100) }],
  ...waypoints.map((waypoint, i): [string, Workload] => [`waypoint ${i}`, { ...base, waypoint }]),
  ['waypoint and netns', { ...base, waypoint: waypoints[0] as GatewayAddress, netns: 'cni-9' }],
];

function port(servicePort: number, targetPort: number, appProtocol: PortMapping['appProtocol']): PortMapping {
  return { servicePort, targetPort, appProtocol };
}

cases.push(
  [
    'ports needing 1 to 5 varint bytes',
    {
      ...base,
      services: {
        'a/a': [port(1, 0, 'UNKNOWN'), port(127, 128, 'HTTP2'), port(16_383, 16_384, 'GRPC')],
        'a/b': [port(65_535, 2 ** 21, 'TCP'), port(2 ** 28, 2 ** 32 - 1, 'TLS'), port(0, 0, 'UNKNOWN')],
      },
    },
  ],
  [
    'service keys in Object.entries order, integer-like first, empty key, __proto__ dropped',
    {
      ...base,
      services: JSON.parse(
        '{"z/z":[{"servicePort":1,"targetPort":2,"appProtocol":"TCP"}],"10":[],"":[],"2":[],"__proto__":[],"ü/s":[]}',
      ) as Workload['services'],
    },
  ],
  [
    'many services',
    {
      ...base,
      services: Object.fromEntries(
        Array.from({ length: 50 }, (_, i) => [
          `ns${i}/svc-${i}.ns${i}.svc.cluster.local`,
          Array.from({ length: i % 4 }, (_, j) => port(80 + j * 1000, 8080 + j, 'HTTP11')),
        ]),
      ),
    },
  ],
  [
    'a message over 16 KiB (3-byte lengths)',
    {
      ...base,
      services: Object.fromEntries(
        Array.from({ length: 3 }, (_, i) => [
          `k${i}`,
          Array.from({ length: 2000 }, () => port(80, 8080, 'HTTP2')),
        ]),
      ),
    },
  ],
);

/** Deterministic pseudo-random workloads mixing every field set and unset. */
function generated(count: number): Workload[] {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)] as T;
  const strings = ['', 'a', 'prod', 'ünïcode', 'x'.repeat(130), 'Kubernetes', 'node-42', '日本'];
  const ips = ['10.1.2.3', '192.168.0.255', 'fd00::1', '2001:db8::1:0:0:1', '127.0.0.1'];
  const protocols = ['UNKNOWN', 'HTTP11', 'HTTP2', 'GRPC', 'TCP', 'TLS'] as const;
  const out: Workload[] = [];
  for (let i = 0; i < count; i++) {
    const services: Record<string, PortMapping[]> = {};
    for (let s = rnd(4); s > 0; s--) {
      services[pick(strings)] = Array.from({ length: rnd(4) }, () =>
        port(pick([0, 80, 443, 8080, 65_535]), pick([0, 1, 127, 128, 15_008]), pick(protocols)),
      );
    }
    const w: Workload = {
      uid: pick(strings),
      name: pick(strings),
      namespace: pick(strings),
      addresses: Array.from({ length: rnd(3) }, () => pick(ips)),
      network: pick(strings),
      tunnelProtocol: pick(['HBONE', 'NONE'] as const),
      trustDomain: pick(strings),
      serviceAccount: pick(strings),
      node: pick(strings),
      canonicalName: pick(strings),
      canonicalRevision: pick(strings),
      workloadType: pick(['DEPLOYMENT', 'CRONJOB', 'POD', 'JOB'] as const),
      workloadName: pick(strings),
      services,
      authorizationPolicies: Array.from({ length: rnd(3) }, () => pick(strings)),
      status: pick(['HEALTHY', 'UNHEALTHY'] as const),
      clusterId: pick(strings),
    };
    const waypoint = rnd(3) === 0 ? pick(waypoints) : undefined;
    const netns = rnd(3) === 0 ? pick(['', 'cni-1', 'é'.repeat(60)]) : undefined;
    out.push({
      ...w,
      ...(waypoint === undefined ? {} : { waypoint }),
      ...(netns === undefined ? {} : { netns }),
    });
  }
  return out;
}

describe('encodeWorkloadAddress writes workloads straight from the model', () => {
  it.each(cases)('gives the generated encoder bytes: %s', (_name, w) => {
    expect(hex(encodeWorkloadAddress(w))).toBe(hex(reference(w)));
  });

  it('gives the generated encoder bytes on 2,000 generated workloads', () => {
    for (const w of generated(2000)) expect(hex(encodeWorkloadAddress(w))).toBe(hex(reference(w)));
  });

  it('round-trips through decodeAddress', () => {
    // What decoding cannot give back as written: model defaults for empty strings, IPs in another spelling,
    // an address beside a hostname, a lone surrogate (read back as U+FFFD), a `__proto__` service key.
    const exact = (w: Workload) =>
      w.uid !== '' &&
      w.trustDomain !== '' &&
      w.serviceAccount !== '' &&
      [...w.addresses, w.waypoint?.address?.ip ?? '::1'].every((ip) => ip === decodeIp(ip)) &&
      (w.waypoint?.hostname === undefined || w.waypoint.address === undefined) &&
      !Object.hasOwn(w.services, '__proto__') &&
      !JSON.stringify(w).includes('\\ud'); // how JSON.stringify spells a lone surrogate
    const normal = generated(500).map((w) => ({
      ...w,
      uid: `u${w.uid}`,
      trustDomain: `${w.trustDomain}.td`,
      serviceAccount: `sa${w.serviceAccount}`,
    }));
    const all = [...cases.map(([, w]) => w), ...normal].filter(exact);
    expect(all.length).toBeGreaterThan(300);
    for (const w of all)
      expect(decodeAddress(encodeWorkloadAddress(w))).toEqual({ kind: 'workload', workload: w });
  });

  it('refuses what the generated path refuses', () => {
    const bad: Workload[] = [
      { ...base, addresses: ['10.0.0.256'] },
      { ...base, addresses: ['010.0.0.1'] },
      { ...base, addresses: ['not an ip'] },
      { ...base, addresses: ['1.2.3'] },
      { ...base, waypoint: { address: { network: '', ip: 'nope' }, hboneMtlsPort: 1 } },
      { ...base, netns: 'n'.repeat(128) },
      { ...base, services: { a: [port(2 ** 32, 0, 'TCP')] } },
      { ...base, services: { a: [port(-1, 0, 'TCP')] } },
      { ...base, services: { a: [port(1.5, 0, 'TCP')] } },
      { ...base, waypoint: { hboneMtlsPort: Number.NaN } },
    ];
    for (const w of bad) {
      expect(() => reference(w)).toThrow();
      expect(() => encodeWorkloadAddress(w)).toThrow(XdsDecodeError);
    }
  });
});

const svc: Service = {
  name: 'orders',
  namespace: 'prod',
  hostname: 'orders.prod.svc.cluster.local',
  addresses: [
    { network: 'net1', ip: '10.96.0.10' },
    { network: '', ip: 'fd00::10' },
  ],
  ports: [port(80, 8080, 'HTTP11'), port(443, 0, 'TLS'), port(65_535, 2 ** 32 - 1, 'UNKNOWN')],
  subjectAltNames: ['spiffe://cluster.local/ns/prod/sa/orders', '', 'spiffe://ü/x'],
  ingressUseWaypoint: true,
};

const emptyService: Service = {
  name: '',
  namespace: '',
  hostname: '',
  addresses: [],
  ports: [],
  subjectAltNames: [],
  ingressUseWaypoint: false,
};

const serviceCases: [string, Service][] = [
  ['every field', svc],
  ['nothing set', emptyService],
  ['no ingress waypoint', { ...svc, ingressUseWaypoint: false }],
  ['non-ASCII, long', { ...svc, name: 'заказы', hostname: `${'h'.repeat(125)}ü` }],
  ['many ports', { ...svc, ports: Array.from({ length: 300 }, (_, i) => port(i, i * 300, 'GRPC')) }],
  ...waypoints.map((waypoint, i): [string, Service] => [`waypoint ${i}`, { ...svc, waypoint }]),
];

describe('encodeServiceAddress writes services straight from the model', () => {
  it.each(serviceCases)('gives the generated encoder bytes: %s', (_name, s) => {
    expect(hex(encodeServiceAddress(s))).toBe(hex(serviceReference(s)));
  });

  it('gives the generated encoder bytes on 1,000 services built from generated workloads', () => {
    const ws = generated(1000);
    for (const [i, w] of ws.entries()) {
      const s: Service = {
        name: w.name,
        namespace: w.namespace,
        hostname: w.workloadName,
        addresses: w.addresses.map((ip, j) => ({ network: j % 2 === 0 ? w.network : '', ip })),
        ports: Object.values(w.services).flat(),
        subjectAltNames: w.authorizationPolicies,
        ingressUseWaypoint: i % 2 === 0,
        ...(w.waypoint === undefined ? {} : { waypoint: w.waypoint }),
      };
      expect(hex(encodeServiceAddress(s))).toBe(hex(serviceReference(s)));
    }
  });

  it('round-trips through decodeAddress', () => {
    for (const s of [
      svc,
      { ...svc, ingressUseWaypoint: false },
      { ...svc, waypoint: waypoints[0] as GatewayAddress },
    ])
      expect(decodeAddress(encodeServiceAddress(s))).toEqual({ kind: 'service', service: s });
  });

  it('refuses what the generated path refuses', () => {
    const bad: Service[] = [
      { ...svc, addresses: [{ network: '', ip: '10.0.0' }] },
      { ...svc, ports: [port(2 ** 32, 0, 'TCP')] },
      { ...svc, waypoint: { hboneMtlsPort: -1 } },
    ];
    for (const s of bad) {
      expect(() => serviceReference(s)).toThrow();
      expect(() => encodeServiceAddress(s)).toThrow(XdsDecodeError);
    }
  });
});
