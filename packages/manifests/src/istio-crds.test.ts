/**
 * The CRDs accept Istio's and the Gateway API's own objects: every group/version/kind that
 * @kubernetes-models/istio and @kubernetes-models/gateway-api model for the kinds Weft reads is served
 * by a rendered CRD, and typical objects (valid per those models) fit the CRDs' structural schema.
 */
import { Gateway } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway';
import { DestinationRule as DrV1beta1 } from '@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule';
import { Gateway as IstioGwV1beta1 } from '@kubernetes-models/istio/networking.istio.io/v1beta1/Gateway';
import { AuthorizationPolicy as AuthzV1 } from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy';
import { RequestAuthentication as ReqAuthnV1 } from '@kubernetes-models/istio/security.istio.io/v1/RequestAuthentication';
import { AuthorizationPolicy as AuthzV1beta1 } from '@kubernetes-models/istio/security.istio.io/v1beta1/AuthorizationPolicy';
import { PeerAuthentication as PeerAuthnV1beta1 } from '@kubernetes-models/istio/security.istio.io/v1beta1/PeerAuthentication';
import { describe, expect, it } from 'vitest';
import { gatewayApiCrds, istioCrds } from './crds.js';

const crds = [...istioCrds(), ...gatewayApiCrds()];

function servedBy(apiVersion: string, kind: string) {
  const [group, version] = apiVersion.split('/');
  return crds.find(
    (c) =>
      c.spec.group === group &&
      c.spec.names.kind === kind &&
      c.spec.versions.some((v) => v.name === version && v.served),
  );
}

/** The structural schema: only spec and status (both open) besides the standard fields. */
function fitsSchema(o: Record<string, unknown>): boolean {
  return Object.keys(o).every((k) => ['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k));
}

const examples = [
  new AuthzV1({
    metadata: { name: 'orders', namespace: 'prod' },
    spec: {
      selector: { matchLabels: { app: 'orders' } },
      action: 'ALLOW',
      rules: [
        {
          from: [{ source: { principals: ['cluster.local/ns/prod/sa/web'] } }],
          to: [{ operation: { methods: ['POST'] } }],
        },
      ],
    },
  }),
  new AuthzV1beta1({ metadata: { name: 'deny-all', namespace: 'prod' }, spec: {} }),
  new PeerAuthnV1beta1({
    metadata: { name: 'default', namespace: 'istio-system' },
    spec: { mtls: { mode: 'STRICT' } },
  }),
  new ReqAuthnV1({
    metadata: { name: 'jwt', namespace: 'prod' },
    spec: { jwtRules: [{ issuer: 'testing@secure.istio.io', jwksUri: 'https://example.org/jwks.json' }] },
  }),
  new DrV1beta1({
    metadata: { name: 'egress', namespace: 'prod' },
    spec: { host: 'api.example.org', trafficPolicy: { tls: { mode: 'MUTUAL', credentialName: 'client' } } },
  }),
  new IstioGwV1beta1({
    metadata: { name: 'ingress', namespace: 'prod' },
    spec: {
      selector: { istio: 'ingressgateway' },
      servers: [
        {
          port: { number: 443, name: 'https', protocol: 'HTTPS' },
          hosts: ['*'],
          tls: { mode: 'MUTUAL', credentialName: 'ingress' },
        },
      ],
    },
  }),
  new Gateway({
    metadata: { name: 'waypoint', namespace: 'prod', labels: { 'istio.io/waypoint-for': 'service' } },
    spec: {
      gatewayClassName: 'istio-waypoint',
      listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
    },
  }),
];

describe('CRDs serve Istio and Gateway API objects as written', () => {
  it.each(examples.map((e) => [`${e.apiVersion} ${e.kind}`, e] as const))('%s', (_name, example) => {
    example.validate();
    expect(
      servedBy(example.apiVersion, example.kind),
      `no CRD serves ${example.apiVersion} ${example.kind}`,
    ).toBeDefined();
    expect(fitsSchema(example.toJSON() as Record<string, unknown>)).toBe(true);
  });

  it('every Istio kind Weft reads is served in v1 and v1beta1, stored in v1', () => {
    for (const kind of ['AuthorizationPolicy', 'PeerAuthentication', 'RequestAuthentication'])
      for (const v of ['v1', 'v1beta1'])
        expect(servedBy(`security.istio.io/${v}`, kind), `${kind} ${v}`).toBeDefined();
    for (const c of istioCrds()) expect(c.spec.versions.find((v) => v.storage)?.name).toBe('v1');
    for (const kind of ['DestinationRule', 'Gateway'])
      for (const v of ['v1', 'v1beta1', 'v1alpha3'])
        expect(servedBy(`networking.istio.io/${v}`, kind)).toBeDefined();
  });
});
