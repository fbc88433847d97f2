/**
 * The guided tour: one command per step, what you should see, and which part of Weft it needs. The same
 * text is printed by `weftctl demo up` / `weftctl demo tour` and written in README.md's "Demo tour".
 */

export interface TourStep {
  title: string;
  /** Each runs on its own from the repository root; `weftctl` = `node packages/cli/bin/weftctl.mjs`. */
  commands: string[];
  expect: string;
  /** Components the step needs (ids of the components `demo up` reports). */
  needs: string[];
}

const curl = "curl -s -o /dev/null -w '%{http_code}\\n'";

export function tourSteps(stateDir: string): TourStep[] {
  return [
    {
      title: 'A pod calls another; the node agents carry it over mutual TLS (HBONE)',
      commands: [
        'weftctl demo exec web -- curl -s http://orders.prod/get',
        'weftctl demo exec web -- curl -s http://payments-0.prod.pod:8080/headers',
      ],
      expect:
        'httpbin answers (200); "origin" is the caller\'s own pod IP (10.44.1.20): the source address survives the tunnel',
      needs: ['pilot', 'node1', 'node2', 'capture'],
    },
    {
      title: 'Check that the connection really is mutual TLS',
      commands: [
        'weftctl check tls payments-0 -n prod --admin http://127.0.0.1:15200',
        `grep '"dst.workload":"payments-0"' ${stateDir}/logs/node2.log | tail -n 1`,
      ],
      expect:
        'mesh traffic is mutual TLS (HBONE), but PERMISSIVE also accepts plaintext; the access log shows both SPIFFE identities',
      needs: ['pilot', 'node2', 'capture', 'check-tls'],
    },
    {
      title: 'PERMISSIVE: plaintext from outside the mesh is still accepted',
      commands: [`weftctl demo exec outside -- ${curl} -m 3 http://10.44.2.10:8080/get`],
      expect: '200 (the "outside" namespace is not in the mesh: no certificate, no tunnel)',
      needs: ['pilot', 'node2', 'capture'],
    },
    {
      title: 'Migrate prod to STRICT mutual TLS',
      commands: [
        'weftctl demo apply strict',
        'weftctl check tls payments-0 -n prod --admin http://127.0.0.1:15200',
        `weftctl demo exec outside -- ${curl} -m 3 http://10.44.2.10:8080/get`,
        `weftctl demo exec web -- ${curl} http://payments-0.prod.pod:8080/get`,
      ],
      expect:
        'check tls says STRICT; the plaintext call now fails (000: connection reset) while the meshed call still gets 200',
      needs: ['pilot', 'node1', 'node2', 'capture'],
    },
    {
      title: 'The way in from outside: the ingress gateway',
      commands: [
        'weftctl demo exec outside -- curl -s http://10.44.1.30/headers',
        `grep '"src.workload":"ingress-0"' ${stateDir}/logs/node1.log | tail -n 1`,
      ],
      expect:
        'web answers 200 through the gateway, even with STRICT: the gateway enters the mesh over HBONE as spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway',
      needs: ['pilot', 'node1', 'capture', 'ingress'],
    },
    {
      title: 'AuthorizationPolicy at the node agent (L4): only web may connect to orders',
      commands: [
        'weftctl demo apply authz',
        `weftctl check authz prod/payments-0 prod/orders-0 --port 8080 --config-dir ${stateDir}/config`,
        `weftctl demo exec payments -- ${curl} -m 3 http://orders.prod/get`,
        `weftctl demo exec web -- ${curl} http://orders.prod/get`,
      ],
      expect:
        'check authz says DENY (allow policies exist, none matched) and why; payments is cut off (000: connection closed by the node agent); web gets 200',
      needs: ['pilot', 'node1', 'node2', 'capture'],
    },
    {
      title: "AuthorizationPolicy at prod's waypoint (L7): only orders may POST /charge to payments",
      commands: [
        'weftctl demo exec web -- curl -s -X POST http://payments.prod/charge',
        `weftctl demo exec orders -- ${curl} -X POST http://payments.prod/charge`,
        `weftctl check authz frontend/web-0 prod/payments-0 POST /charge --config-dir ${stateDir}/config`,
      ],
      expect:
        'web gets 403 "RBAC: access denied" from the waypoint; orders gets 200 (the same `demo apply authz`); check authz shows DENY at the waypoint (L7), ALLOW at the node agent (L4)',
      needs: ['pilot', 'node1', 'node2', 'capture', 'waypoint', 'waypoint-route'],
    },
    {
      title: 'End-user JWTs (RequestAuthentication at the waypoint)',
      commands: [
        'weftctl demo apply jwt',
        `weftctl demo exec orders -- ${curl} -X POST -H "Authorization: Bearer $(weftctl demo token valid)" http://payments.prod/charge`,
        `weftctl demo exec orders -- ${curl} -X POST -H "Authorization: Bearer $(weftctl demo token expired)" http://payments.prod/charge`,
        `weftctl demo exec orders -- ${curl} -X POST -H "Authorization: Bearer $(weftctl demo token wrong-aud)" http://payments.prod/charge`,
      ],
      expect:
        '200 for the valid token, 401 for the expired one ("Jwt is expired"), 403 for the wrong audience',
      needs: ['pilot', 'node1', 'node2', 'capture', 'waypoint', 'waypoint-route'],
    },
    {
      title: 'Metrics (Istio names) and the access log',
      commands: [
        'curl -s 127.0.0.1:15020/metrics | grep istio_tcp_connections_opened_total',
        'weftctl demo exec waypoint -- curl -s 127.0.0.1:15020/metrics | grep istio_requests_total',
        `grep '"component":"access"' ${stateDir}/logs/node1.log | tail -n 2`,
        `grep '"component":"access"' ${stateDir}/logs/waypoint.log | tail -n 2`,
      ],
      expect:
        'counters labelled with source/destination workloads and principals; one access-log line per connection',
      needs: ['pilot', 'node1', 'capture'],
    },
    {
      title: 'Rotate the CA root in three stages while traffic flows',
      commands: [
        'weftctl demo traffic --duration 60 &',
        'weftctl ca rotate --stage add',
        'weftctl ca rotate --stage switch',
        'weftctl ca rotate --stage retire --force',
        'wait',
      ],
      expect:
        'the traffic loop ends with "0 failed"; `weftctl ca status` shows one new root (--force: retire otherwise waits one workload certificate lifetime, 24 h, after switch)',
      needs: ['pilot', 'node1', 'node2', 'capture', 'ca-rotate'],
    },
  ];
}

/** The tour as text, marking steps whose components are missing (`missing` = component ids). */
export function renderTour(stateDir: string, missing: ReadonlySet<string> = new Set()): string {
  const out: string[] = [
    'Demo tour (weftctl = node packages/cli/bin/weftctl.mjs, e.g. alias weftctl="node $PWD/packages/cli/bin/weftctl.mjs"):',
    '',
  ];
  tourSteps(stateDir).forEach((step, i) => {
    const lacking = step.needs.filter((n) => missing.has(n));
    out.push(
      `${i + 1}. ${step.title}${lacking.length > 0 ? `   [not available: ${lacking.join(', ')} missing]` : ''}`,
    );
    for (const c of step.commands) out.push(`     $ ${c}`);
    out.push(`     → ${step.expect}`);
    out.push('');
  });
  out.push('When done: weftctl demo down');
  return `${out.join('\n')}\n`;
}
