import { createRegistry, silentLogger } from '@weft/telemetry';
import { describe, expect, it } from 'vitest';
import { workload } from './test-fixtures.js';
import { type ConnectionInfo, TrafficRecorder, trafficMetrics } from './traffic.js';

function info(over: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return {
    direction: 'inbound',
    srcAddr: '10.0.0.1:40000',
    srcWorkload: undefined,
    srcIdentity: 'spiffe://cluster.local/ns/prod/sa/client',
    dstAddr: '10.0.0.2:8080',
    dstHboneAddr: '10.0.0.2:15008',
    dstWorkload: undefined,
    dstService: undefined,
    dstIdentity: 'spiffe://cluster.local/ns/prod/sa/server',
    mtls: true,
    ...over,
  };
}

const ok = { bytesSent: 10, bytesRecv: 20, durationMs: 1, error: undefined, responseFlags: '-' };

describe('TrafficRecorder', () => {
  it('shares one label set between connections of the same peers, and counts every connection', async () => {
    const registry = createRegistry({ processMetrics: false });
    const recorder = new TrafficRecorder(trafficMetrics(registry), silentLogger());
    const server = workload({ name: 'server', namespace: 'prod', ip: '10.0.0.2' });
    const a = info({ dstWorkload: server });
    const b = info({ dstWorkload: server, srcAddr: '10.0.0.1:40001' });
    const la = recorder.opened(a);
    const lb = recorder.opened(b);
    expect(lb).toBe(la);
    expect(la.destination_workload).toBe('server');
    expect(recorder.openConnections()).toHaveLength(2);
    recorder.closed(a, la, ok);
    recorder.closed(b, lb, ok);
    expect(recorder.openConnections()).toHaveLength(0);
    const text = await registry.metrics();
    expect(text).toMatch(/istio_tcp_connections_opened_total\{[^}]*destination_workload="server"[^}]*\} 2/);
    expect(text).toMatch(/istio_tcp_received_bytes_total\{[^}]*\} 20/);
  });

  it('builds new labels for other peers and for a workload replaced by discovery', () => {
    const recorder = new TrafficRecorder(
      trafficMetrics(createRegistry({ processMetrics: false })),
      silentLogger(),
    );
    const v1 = workload({ name: 'server', namespace: 'prod', ip: '10.0.0.2' });
    const l1 = recorder.opened(info({ dstWorkload: v1 }));
    // Discovery replaces objects on change (here: a new revision), so the labels follow.
    const v2 = { ...v1, canonicalRevision: 'v2' };
    const l2 = recorder.opened(info({ dstWorkload: v2 }));
    expect(l2).not.toBe(l1);
    expect(l2.destination_canonical_revision).toBe('v2');
    const other = recorder.opened(
      info({ dstWorkload: v1, srcIdentity: 'spiffe://cluster.local/ns/prod/sa/other' }),
    );
    expect(other).not.toBe(l1);
    expect(other.source_principal).toBe('cluster.local/ns/prod/sa/other');
    const plain = recorder.opened(info({ dstWorkload: v1, mtls: false }));
    expect(plain.connection_security_policy).toBe('unknown');
    expect(recorder.opened(info({ dstWorkload: v1 }))).toBe(l1);
  });
});
