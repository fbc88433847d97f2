/**
 * A synthetic mesh: ten policies per namespace (namespace-wide DENY and ALLOW, eight selector
 * policies, half of them with HTTP rules), two mesh-wide ones, and a pool of requests.
 */
export const ROOT = 'istio-system';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const meta = (name: string, namespace: string) => ({ name, namespace });

export function policies(n: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [
    {
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: meta('deny-ssh', ROOT),
      spec: { action: 'DENY', rules: [{ to: [{ operation: { ports: ['22'] } }] }] },
    },
  ];
  const namespaces = Math.max(1, Math.round((n - 1) / 10));
  for (let i = 0; out.length < n; i++) {
    const ns = `ns${i % namespaces}`;
    const j = Math.floor(i / namespaces);
    const name = `p${j}`;
    let spec: Record<string, unknown>;
    if (j === 0) spec = { action: 'DENY', rules: [{ from: [{ source: { ipBlocks: ['192.168.0.0/16'] } }] }] };
    else if (j === 1)
      spec = { rules: [{ from: [{ source: { principals: [`cluster.local/ns/${ns}/sa/*`] } }] }] };
    else {
      const from = [
        {
          source: {
            principals: [0, 1, 2].map((k) => `cluster.local/ns/ns${(i + k * 7) % namespaces}/sa/client${k}`),
          },
        },
      ];
      const to =
        j % 2 === 0
          ? [{ operation: { ports: ['8080', '9090'] } }]
          : [{ operation: { methods: ['GET', 'POST'], paths: ['/api/*'] } }];
      spec = { selector: { matchLabels: { app: `app${j}` } }, rules: [{ from, to }] };
    }
    out.push({
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: meta(name, ns),
      spec,
    });
  }
  return out;
}

export interface Sample {
  readonly namespace: string;
  readonly app: string;
  readonly principal?: string;
  readonly sourceIp: string;
  readonly destinationIp: string;
  readonly port: number;
  readonly method: string;
  readonly path: string;
}

export function samples(n: number, count: number): Sample[] {
  const r = rng(42);
  const namespaces = Math.max(1, Math.round((n - 1) / 10));
  const out: Sample[] = [];
  for (let i = 0; i < count; i++) {
    const ns = `ns${Math.floor(r() * namespaces)}`;
    // half the traffic stays inside its namespace (allowed by the namespace-wide ALLOW)
    const from = r() < 0.5 ? ns : `ns${Math.floor(r() * namespaces)}`;
    const plaintext = r() < 0.1;
    const p = {
      namespace: ns,
      app: `app${2 + Math.floor(r() * 8)}`,
      sourceIp: r() < 0.1 ? `192.168.1.${i % 250}` : `10.0.${i % 250}.${(i * 7) % 250}`,
      destinationIp: `10.1.${i % 250}.9`,
      port: [8080, 9090, 22, 5432][Math.floor(r() * 4)]!,
      method: r() < 0.5 ? 'GET' : 'DELETE',
      path: r() < 0.7 ? `/api/items/${i}` : '/admin',
    };
    out.push(plaintext ? p : { ...p, principal: `cluster.local/ns/${from}/sa/client${Math.floor(r() * 3)}` });
  }
  return out;
}
