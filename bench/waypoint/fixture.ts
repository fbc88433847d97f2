/**
 * The benchmark's mesh config: one HTTP/1.1 and one HTTP/2 service, a RequestAuthentication with an
 * inline RS256 JWKS, and 100 AuthorizationPolicies bound to the waypoint of which only the last (in
 * evaluation order) allows the benchmark's request: orders, with a JWT, POST /charge.
 */
import type { ConfigObject } from '@weft/config';

export const NS = 'bench';
export const ISSUER = 'https://issuer.bench.weft';
export const CLIENT = 'spiffe://cluster.local/ns/bench/sa/orders';

function obj(kind: string, name: string, spec: Record<string, unknown>): ConfigObject {
  return {
    apiVersion: 'security.istio.io/v1',
    kind,
    namespace: NS,
    name,
    object: { apiVersion: 'security.istio.io/v1', kind, metadata: { name, namespace: NS }, spec },
  };
}

const targetRefs = [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }];

export function benchConfigs(jwk: Record<string, unknown>, policies = 100): ConfigObject[] {
  const out: ConfigObject[] = [
    obj('RequestAuthentication', 'jwt', {
      targetRefs,
      jwtRules: [{ issuer: ISSUER, audiences: ['payments'], jwks: JSON.stringify({ keys: [jwk] }) }],
    }),
  ];
  for (let i = 0; i < policies - 1; i++) {
    out.push(
      obj('AuthorizationPolicy', `allow-${String(i).padStart(3, '0')}`, {
        targetRefs,
        rules: [
          {
            from: [
              {
                source: {
                  principals: [`cluster.local/ns/team-${i}/sa/client`],
                  requestPrincipals: [`${ISSUER}/user-${i}`],
                },
              },
            ],
            to: [{ operation: { methods: ['GET', 'POST'], paths: [`/team-${i}/*`] } }],
            when: [{ key: 'request.headers[x-team]', values: [`team-${i}`] }],
          },
        ],
      }),
    );
  }
  out.push(
    obj('AuthorizationPolicy', 'zz-allow-orders', {
      targetRefs,
      rules: [
        {
          from: [
            {
              source: {
                principals: ['cluster.local/ns/bench/sa/orders'],
                requestPrincipals: [`${ISSUER}/*`],
              },
            },
          ],
          to: [{ operation: { methods: ['POST'], paths: ['/charge'] } }],
        },
      ],
    }),
  );
  return out;
}
