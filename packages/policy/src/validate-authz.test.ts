import { describe, expect, it } from 'vitest';
import { formatProblem } from './problems.js';
import { rawAp } from './test-helpers.js';
import { validateAuthorizationPolicy } from './validate-authz.js';

interface Case {
  readonly name: string;
  readonly spec: unknown;
  /** Expected problems as `severity code path`; `ok` follows from whether any is an error. */
  readonly problems: readonly string[];
}

const src = (source: object) => ({ rules: [{ from: [{ source }] }] });
const op = (operation: object) => ({ rules: [{ to: [{ operation }] }] });
const when = (cond: object) => ({ rules: [{ when: [cond] }] });

const cases: Case[] = [
  { name: 'empty spec is valid (deny all)', spec: {}, problems: [] },
  { name: 'rules [{}] is valid (allow all)', spec: { rules: [{}] }, problems: [] },
  {
    name: 'full ALLOW',
    spec: {
      selector: { matchLabels: { app: 'payments' } },
      action: 'ALLOW',
      rules: [
        {
          from: [{ source: { principals: ['cluster.local/ns/prod/sa/orders'] } }],
          to: [{ operation: { methods: ['POST'], paths: ['/charge'] } }],
        },
      ],
    },
    problems: [],
  },
  {
    name: 'unknown spec field',
    spec: { rulez: [] },
    problems: ['error WEFT_POLICY_UNKNOWN_FIELD spec.rulez'],
  },
  {
    name: 'unknown source field',
    spec: src({ principal: ['x'] }),
    problems: [
      'error WEFT_POLICY_UNKNOWN_FIELD spec.rules[0].from[0].source.principal',
      'error WEFT_POLICY_MISSING_FIELD spec.rules[0].from[0].source',
    ],
  },
  {
    name: 'unknown rule field',
    spec: { rules: [{ form: [] }] },
    problems: ['error WEFT_POLICY_UNKNOWN_FIELD spec.rules[0].form'],
  },
  { name: 'bad action', spec: { action: 'REJECT' }, problems: ['error WEFT_POLICY_BAD_VALUE spec.action'] },
  {
    name: 'action lower-case is rejected',
    spec: { action: 'deny' },
    problems: ['error WEFT_POLICY_BAD_VALUE spec.action'],
  },
  { name: 'rules not a list', spec: { rules: {} }, problems: ['error WEFT_POLICY_BAD_TYPE spec.rules'] },
  {
    name: 'principals not a list',
    spec: src({ principals: 'x' }),
    problems: [
      'error WEFT_POLICY_BAD_TYPE spec.rules[0].from[0].source.principals',
      'error WEFT_POLICY_MISSING_FIELD spec.rules[0].from[0].source',
    ],
  },
  {
    name: 'principal with spiffe://',
    spec: src({ principals: ['a', 'spiffe://cluster.local/ns/a/sa/b'] }),
    problems: ['error WEFT_POLICY_BAD_PRINCIPAL spec.rules[0].from[0].source.principals[1]'],
  },
  {
    name: 'principal malformed ns/sa form',
    spec: src({ principals: ['cluster.local/ns/prod/orders'] }),
    problems: ['error WEFT_POLICY_BAD_PRINCIPAL spec.rules[0].from[0].source.principals[0]'],
  },
  {
    name: 'principal bare name allowed (gateway client cert)',
    spec: src({ principals: ['test.client'] }),
    problems: [],
  },
  {
    name: 'principal wildcard in the middle',
    spec: src({ principals: ['cluster.local/*/sa/x'] }),
    problems: ['warning WEFT_POLICY_BAD_VALUE spec.rules[0].from[0].source.principals[0]'],
  },
  {
    name: 'principal empty string',
    spec: src({ principals: [''] }),
    problems: ['error WEFT_POLICY_BAD_VALUE spec.rules[0].from[0].source.principals[0]'],
  },
  {
    name: 'principal number',
    spec: src({ principals: [7] }),
    problems: ['error WEFT_POLICY_BAD_TYPE spec.rules[0].from[0].source.principals[0]'],
  },
  {
    name: 'requestPrincipal without /',
    spec: src({ requestPrincipals: ['alice'] }),
    problems: ['warning WEFT_POLICY_BAD_PRINCIPAL spec.rules[0].from[0].source.requestPrincipals[0]'],
  },
  {
    name: 'namespaces wildcard ok',
    spec: src({ namespaces: ['prod-*'], notNamespaces: ['*-test'] }),
    problems: [],
  },
  {
    name: 'ipBlocks bad CIDR',
    spec: src({ ipBlocks: ['10.0.0.0/33', '10.0.0.1', 'fd00::/8', 'nope'] }),
    problems: [
      'error WEFT_POLICY_BAD_CIDR spec.rules[0].from[0].source.ipBlocks[0]',
      'error WEFT_POLICY_BAD_CIDR spec.rules[0].from[0].source.ipBlocks[3]',
    ],
  },
  {
    name: 'notRemoteIpBlocks bad',
    spec: src({ notRemoteIpBlocks: ['1.2.3'] }),
    problems: ['error WEFT_POLICY_BAD_CIDR spec.rules[0].from[0].source.notRemoteIpBlocks[0]'],
  },
  {
    name: 'serviceAccounts wildcard',
    spec: src({ serviceAccounts: ['prod/*'] }),
    problems: ['error WEFT_POLICY_BAD_VALUE spec.rules[0].from[0].source.serviceAccounts[0]'],
  },
  {
    name: 'empty source',
    spec: { rules: [{ from: [{ source: {} }] }] },
    problems: ['error WEFT_POLICY_MISSING_FIELD spec.rules[0].from[0].source'],
  },
  {
    name: 'empty from/to lists',
    spec: { rules: [{ from: [], to: [] }] },
    problems: [
      'error WEFT_POLICY_MISSING_FIELD spec.rules[0].from',
      'error WEFT_POLICY_MISSING_FIELD spec.rules[0].to',
    ],
  },
  {
    name: 'CUSTOM without rules is an error (never triggers)',
    spec: { action: 'CUSTOM', provider: { name: 'ext' } },
    problems: [
      'error WEFT_POLICY_MISSING_FIELD spec.rules',
      'warning WEFT_POLICY_CUSTOM_UNSUPPORTED spec.action',
    ],
  },
  {
    name: 'DENY without rules is an error (never triggers)',
    spec: { action: 'DENY' },
    problems: ['error WEFT_POLICY_MISSING_FIELD spec.rules'],
  },
  {
    name: 'DENY with only HTTP attributes warns (denies all TCP)',
    spec: { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] },
    problems: ['warning WEFT_POLICY_BAD_VALUE spec.rules[0]'],
  },
  {
    name: 'DENY with HTTP attributes and a port is fine',
    spec: { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'], ports: ['8080'] } }] }] },
    problems: [],
  },
  {
    name: 'serviceAccounts with principals in one source',
    spec: src({ serviceAccounts: ['a'], principals: ['b'] }),
    problems: ['error WEFT_POLICY_CONFLICT spec.rules[0].from[0].source'],
  },
  {
    name: 'more than 16 serviceAccounts',
    spec: src({ serviceAccounts: Array.from({ length: 17 }, (_, i) => `sa${i}`) }),
    problems: ['error WEFT_POLICY_BAD_VALUE spec.rules[0].from[0].source.serviceAccounts'],
  },
  {
    name: 'CUSTOM cannot match identities',
    spec: {
      action: 'CUSTOM',
      provider: { name: 'ext' },
      rules: [
        {
          from: [{ source: { principals: ['a'] } }],
          when: [{ key: 'request.auth.claims[x]', values: ['y'] }],
        },
      ],
    },
    problems: [
      'error WEFT_POLICY_CUSTOM_UNSUPPORTED spec.rules[0].from[0].source.principals',
      'error WEFT_POLICY_CUSTOM_UNSUPPORTED spec.rules[0].when[0].key',
      'warning WEFT_POLICY_CUSTOM_UNSUPPORTED spec.action',
    ],
  },
  {
    name: 'when source.serviceAccount values',
    spec: when({ key: 'source.serviceAccount', values: ['prod/orders', 'web', 'a/b/c'] }),
    problems: ['error WEFT_POLICY_BAD_VALUE spec.rules[0].when[0].values[2]'],
  },
  {
    name: 'when retired key destination.namespace',
    spec: when({ key: 'destination.namespace', values: ['prod'] }),
    problems: ['error WEFT_POLICY_BAD_WHEN_KEY spec.rules[0].when[0].key'],
  },
  {
    name: 'when experimental inline header ok',
    spec: when({ key: 'request.experimental.inline.headers[x-a]', values: ['b'] }),
    problems: [],
  },
  {
    name: 'selector with wildcard',
    spec: { selector: { matchLabels: { app: 'web-*' } } },
    problems: ['error WEFT_POLICY_BAD_VALUE spec.selector.matchLabels.app'],
  },
  {
    name: 'selector without labels warns',
    spec: { selector: { matchLabels: {} } },
    problems: ['warning WEFT_POLICY_MISSING_FIELD spec.selector'],
  },
  {
    name: 'from without source',
    spec: { rules: [{ from: [{}] }] },
    problems: ['error WEFT_POLICY_MISSING_FIELD spec.rules[0].from[0].source'],
  },
  {
    name: 'to without operation',
    spec: { rules: [{ to: [{}] }] },
    problems: ['error WEFT_POLICY_MISSING_FIELD spec.rules[0].to[0].operation'],
  },
  {
    name: 'ports as numbers are rejected (Istio wants strings)',
    spec: op({ ports: [8080] }),
    problems: ['error WEFT_POLICY_BAD_TYPE spec.rules[0].to[0].operation.ports[0]'],
  },
  {
    name: 'port out of range',
    // Istio accepts 0-65535 here
    spec: op({ ports: ['0', '65536', '443', '-1'] }),
    problems: [
      'error WEFT_POLICY_BAD_PORT spec.rules[0].to[0].operation.ports[1]',
      'error WEFT_POLICY_BAD_PORT spec.rules[0].to[0].operation.ports[3]',
    ],
  },
  {
    name: 'method not a token',
    spec: op({ methods: ['GE T'] }),
    problems: ['error WEFT_POLICY_BAD_METHOD spec.rules[0].to[0].operation.methods[0]'],
  },
  {
    name: 'method lower-case warns',
    spec: op({ methods: ['get'] }),
    problems: ['warning WEFT_POLICY_BAD_METHOD spec.rules[0].to[0].operation.methods[0]'],
  },
  { name: 'path template ok', spec: op({ paths: ['/a/{*}/b/{**}'] }), problems: [] },
  {
    name: 'path template: literal after {**} is fine (Envoy)',
    spec: op({ paths: ['/a/{**}/b'] }),
    problems: [],
  },
  {
    name: 'path template: operator after {**}',
    spec: op({ paths: ['/a/{**}/{*}'] }),
    problems: ['error WEFT_POLICY_BAD_PATH spec.rules[0].to[0].operation.paths[0]'],
  },
  {
    name: 'path template: double slash',
    spec: op({ paths: ['/a//{*}'] }),
    problems: ['error WEFT_POLICY_BAD_PATH spec.rules[0].to[0].operation.paths[0]'],
  },
  {
    name: 'path template: bad literal character',
    spec: op({ paths: ['/a b/{*}'] }),
    problems: ['error WEFT_POLICY_BAD_PATH spec.rules[0].to[0].operation.paths[0]'],
  },
  {
    name: 'path template mixed segment',
    spec: op({ notPaths: ['/a/x{*}'] }),
    problems: ['error WEFT_POLICY_BAD_PATH spec.rules[0].to[0].operation.notPaths[0]'],
  },
  {
    name: 'path template unknown operator',
    spec: op({ paths: ['/a/{id}'] }),
    problems: ['error WEFT_POLICY_BAD_PATH spec.rules[0].to[0].operation.paths[0]'],
  },
  {
    name: 'path wildcard in middle',
    spec: op({ paths: ['/a/*/b'] }),
    problems: ['warning WEFT_POLICY_BAD_VALUE spec.rules[0].to[0].operation.paths[0]'],
  },
  {
    name: 'path without slash warns',
    spec: op({ paths: ['charge'] }),
    problems: ['warning WEFT_POLICY_BAD_PATH spec.rules[0].to[0].operation.paths[0]'],
  },
  {
    name: 'hosts wildcard both ends',
    spec: op({ hosts: ['*.example.*'] }),
    problems: ['warning WEFT_POLICY_BAD_VALUE spec.rules[0].to[0].operation.hosts[0]'],
  },
  {
    name: 'when unknown key',
    spec: when({ key: 'request.method', values: ['GET'] }),
    problems: ['error WEFT_POLICY_BAD_WHEN_KEY spec.rules[0].when[0].key'],
  },
  {
    name: 'when header without name',
    spec: when({ key: 'request.headers[]', values: ['x'] }),
    problems: ['error WEFT_POLICY_BAD_WHEN_KEY spec.rules[0].when[0].key'],
  },
  {
    name: 'when nested claims ok',
    spec: when({ key: 'request.auth.claims[a][b]', values: ['x'] }),
    problems: [],
  },
  {
    name: 'when claims without bracket',
    spec: when({ key: 'request.auth.claims', values: ['x'] }),
    problems: ['error WEFT_POLICY_BAD_WHEN_KEY spec.rules[0].when[0].key'],
  },
  {
    name: 'when experimental warns',
    spec: when({ key: 'experimental.envoy.filters.network.mysql_proxy[db.table]', values: ['[update]'] }),
    problems: ['warning WEFT_POLICY_BAD_WHEN_KEY spec.rules[0].when[0].key'],
  },
  {
    name: 'when without values',
    spec: when({ key: 'source.ip' }),
    problems: ['error WEFT_POLICY_MISSING_FIELD spec.rules[0].when[0]'],
  },
  {
    name: 'when without key',
    spec: when({ values: ['a'] }),
    problems: ['error WEFT_POLICY_MISSING_FIELD spec.rules[0].when[0].key'],
  },
  {
    name: 'when source.ip bad value',
    spec: when({ key: 'source.ip', values: ['10.0.0.0/8', 'x'] }),
    problems: ['error WEFT_POLICY_BAD_CIDR spec.rules[0].when[0].values[1]'],
  },
  {
    name: 'when destination.port bad notValue',
    spec: when({ key: 'destination.port', notValues: ['http'] }),
    problems: ['error WEFT_POLICY_BAD_PORT spec.rules[0].when[0].notValues[0]'],
  },
  {
    name: 'selector and targetRef conflict',
    spec: {
      selector: { matchLabels: { a: 'b' } },
      targetRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'waypoint' },
    },
    problems: ['error WEFT_POLICY_CONFLICT spec.selector'],
  },
  {
    name: 'targetRef and targetRefs conflict',
    spec: {
      targetRef: { group: '', kind: 'Service', name: 'a' },
      targetRefs: [{ group: '', kind: 'Service', name: 'b' }],
    },
    problems: ['error WEFT_POLICY_CONFLICT spec.targetRef'],
  },
  {
    name: 'targetRefs Gateway and Service ok',
    spec: {
      targetRefs: [
        { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'waypoint' },
        { kind: 'Service', group: '', name: 'payments' },
      ],
    },
    problems: [],
  },
  {
    name: 'targetRef bad kind',
    spec: { targetRefs: [{ group: 'apps', kind: 'Deployment', name: 'x' }] },
    problems: ['error WEFT_POLICY_BAD_TARGET_REF spec.targetRefs[0].kind'],
  },
  {
    name: 'targetRef wrong group',
    spec: { targetRef: { group: 'networking.istio.io', kind: 'Gateway', name: 'x' } },
    problems: ['error WEFT_POLICY_BAD_TARGET_REF spec.targetRef.group'],
  },
  {
    name: 'targetRef cross-namespace',
    spec: { targetRef: { group: '', kind: 'Service', name: 'x', namespace: 'other' } },
    problems: ['error WEFT_POLICY_BAD_TARGET_REF spec.targetRef.namespace'],
  },
  {
    name: 'targetRef without name',
    spec: { targetRef: { group: '', kind: 'Service' } },
    problems: ['error WEFT_POLICY_MISSING_FIELD spec.targetRef.name'],
  },
  {
    name: 'selector label not a string',
    spec: { selector: { matchLabels: { app: 1 } } },
    problems: ['error WEFT_POLICY_BAD_TYPE spec.selector.matchLabels.app'],
  },
  {
    name: 'CUSTOM with provider warns unsupported',
    spec: { action: 'CUSTOM', provider: { name: 'ext-authz' }, rules: [{}] },
    problems: ['warning WEFT_POLICY_CUSTOM_UNSUPPORTED spec.action'],
  },
  {
    name: 'CUSTOM without provider',
    spec: { action: 'CUSTOM', rules: [{}] },
    problems: [
      'error WEFT_POLICY_MISSING_FIELD spec.provider.name',
      'warning WEFT_POLICY_CUSTOM_UNSUPPORTED spec.action',
    ],
  },
  {
    name: 'provider without CUSTOM',
    spec: { action: 'DENY', provider: { name: 'x' }, rules: [{ to: [{ operation: { ports: ['1'] } }] }] },
    problems: ['error WEFT_POLICY_CONFLICT spec.provider'],
  },
  {
    name: 'AUDIT is valid',
    spec: { action: 'AUDIT', rules: [{ to: [{ operation: { paths: ['/audit'] } }] }] },
    problems: [],
  },
  {
    name: 'every problem is reported, not the first',
    spec: {
      action: 'X',
      rules: [
        {
          from: [{ source: { principals: [''], ipBlocks: ['bad'] } }],
          to: [{ operation: { ports: ['x'] } }],
        },
      ],
    },
    problems: [
      'error WEFT_POLICY_BAD_VALUE spec.action',
      'error WEFT_POLICY_BAD_VALUE spec.rules[0].from[0].source.principals[0]',
      'error WEFT_POLICY_BAD_CIDR spec.rules[0].from[0].source.ipBlocks[0]',
      'error WEFT_POLICY_BAD_PORT spec.rules[0].to[0].operation.ports[0]',
    ],
  },
];

describe('validateAuthorizationPolicy', () => {
  it.each(cases)('$name', ({ spec, problems }) => {
    const r = validateAuthorizationPolicy(rawAp(spec));
    expect(r.problems.map((p) => `${p.severity} ${p.code} ${p.path}`).sort()).toEqual([...problems].sort());
    expect(r.ok).toBe(!problems.some((p) => p.startsWith('error')));
    expect(r.value === undefined).toBe(!r.ok);
    for (const p of r.problems) expect(p.resource).toBe('AuthorizationPolicy prod/p');
  });

  const header: Array<{ name: string; obj: unknown; problems: string[] }> = [
    {
      name: 'v1beta1 accepted',
      obj: { ...rawAp({}), apiVersion: 'security.istio.io/v1beta1' },
      problems: [],
    },
    {
      name: 'v1alpha1 rejected',
      obj: { ...rawAp({}), apiVersion: 'security.istio.io/v1alpha1' },
      problems: ['error WEFT_POLICY_BAD_KIND apiVersion'],
    },
    {
      name: 'wrong kind',
      obj: { ...rawAp({}), kind: 'PeerAuthentication' },
      problems: ['error WEFT_POLICY_BAD_KIND kind'],
    },
    {
      name: 'no name',
      obj: { ...rawAp({}), metadata: { namespace: 'prod' } },
      problems: ['error WEFT_POLICY_MISSING_FIELD metadata.name'],
    },
    {
      name: 'not an object',
      obj: 'x',
      problems: ['error WEFT_POLICY_BAD_TYPE ', 'error WEFT_POLICY_MISSING_FIELD metadata.name'],
    },
    {
      name: 'spec not an object',
      obj: { ...rawAp({}), spec: [] },
      problems: ['error WEFT_POLICY_BAD_TYPE spec'],
    },
    {
      name: 'unknown top-level field',
      obj: { ...rawAp({}), specs: {} },
      problems: ['error WEFT_POLICY_UNKNOWN_FIELD specs'],
    },
    {
      name: 'bad dry-run annotation',
      obj: rawAp({}, { annotations: { 'istio.io/dry-run': 'yes' } }),
      problems: ['error WEFT_POLICY_BAD_VALUE metadata.annotations.istio.io/dry-run'],
    },
  ];
  it.each(header)('header: $name', ({ obj, problems }) => {
    const r = validateAuthorizationPolicy(obj);
    expect(r.problems.map((p) => `${p.severity} ${p.code} ${p.path}`).sort()).toEqual([...problems].sort());
  });

  it('normalizes: defaults, dry-run, namespace default, creationTimestamp', () => {
    const r = validateAuthorizationPolicy(
      {
        apiVersion: 'security.istio.io/v1beta1',
        kind: 'AuthorizationPolicy',
        metadata: {
          name: 'x',
          annotations: { 'istio.io/dry-run': 'true' },
          creationTimestamp: '2026-01-01T00:00:00Z',
        },
        spec: { rules: [{ from: [{ source: { principals: ['a'] } }] }] },
      },
      { defaultNamespace: 'apps' },
    );
    expect(r.ok).toBe(true);
    expect(r.value).toMatchObject({
      namespace: 'apps',
      action: 'ALLOW',
      dryRun: true,
      creationTimestamp: '2026-01-01T00:00:00Z',
      targetRefs: [],
    });
    expect(r.value?.rules[0]?.from[0]?.principals).toEqual(['a']);
    expect(r.value?.rules[0]?.from[0]?.notPrincipals).toEqual([]);
  });

  it('formats problems like istioctl analyze', () => {
    const r = validateAuthorizationPolicy(rawAp(src({ ipBlocks: ['bad'] })));
    expect(formatProblem(r.problems[0]!)).toBe(
      'Error [WEFT_POLICY_BAD_CIDR] (AuthorizationPolicy prod/p) spec.rules[0].from[0].source.ipBlocks[0]: "bad" is not an IP address or CIDR range',
    );
  });
});
