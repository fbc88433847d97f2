import { isWeftError } from '@weft/telemetry/errors';
import { describe, expect, it } from 'vitest';
import { defaultWorkerThreads, loadConfig } from './config.js';
import { optedOut, parseRequest } from './lifecycle-protocol.js';

const pod = {
  uid: 'u1',
  name: 'a',
  namespace: 'ns',
  serviceAccount: 'sa',
  netnsPath: '/var/run/netns/x',
  ips: ['10.0.0.1'],
};

describe('lifecycle protocol', () => {
  it('parses add (flat or nested), del and snapshot', () => {
    expect(parseRequest(JSON.stringify({ type: 'add', ...pod }))).toEqual({
      type: 'add',
      pod: { ...pod, labels: {} },
    });
    expect(
      parseRequest(JSON.stringify({ type: 'add', pod: { ...pod, labels: { app: 'x' } } })),
    ).toMatchObject({
      pod: { labels: { app: 'x' } },
    });
    expect(parseRequest('{"type":"del","uid":"u1"}')).toEqual({ type: 'del', uid: 'u1' });
    expect(parseRequest(JSON.stringify({ type: 'snapshot', pods: [pod] }))).toMatchObject({
      type: 'snapshot',
      pods: [{ uid: 'u1' }],
    });
  });

  it.each([
    ['not json', /not valid JSON/],
    ['[]', /JSON object/],
    ['{"type":"nope"}', /add, del or snapshot/],
    [JSON.stringify({ type: 'add', ...pod, ips: ['x'] }), /ips/],
    [JSON.stringify({ type: 'add', ...pod, netnsPath: 'relative' }), /absolute/],
    [JSON.stringify({ type: 'del' }), /uid/],
    [JSON.stringify({ type: 'snapshot', pods: [{}] }), /snapshot.pods\[0\]/],
  ])('rejects %s with WEFT_NODE_BAD_MESSAGE', (line, re) => {
    let caught: unknown;
    try {
      parseRequest(line);
    } catch (err) {
      caught = err;
    }
    expect(isWeftError(caught, 'WEFT_NODE_BAD_MESSAGE')).toBe(true);
    expect((caught as Error).message).toMatch(re);
  });

  it('honours the opt-out label', () => {
    expect(optedOut({ ...pod, labels: { 'istio.io/dataplane-mode': 'none' } })).toBe(true);
    expect(optedOut({ ...pod, labels: {} })).toBe(false);
  });
});

describe('config', () => {
  it('reads env with ztunnel names and lets flags win', () => {
    const c = loadConfig(['--admin-port', '0', '--workers=2', '--uninstall-on-exit'], {
      XDS_ADDRESS: '127.0.0.1:1',
      TRUST_DOMAIN: 'td',
      ADMIN_PORT: '9',
      SECRET_TTL: '1h',
    });
    expect(c).toMatchObject({
      xdsAddress: '127.0.0.1:1',
      trustDomain: 'td',
      ports: { admin: 0 },
      workerThreads: 2,
      uninstallOnExit: true,
      secretTtlSeconds: 3600,
    });
  });

  it('defaults to one data-plane thread per 4 cores, at least one; WORKER_THREADS=0 keeps it on the main thread', () => {
    expect([1, 2, 4, 5, 8, 16].map((n) => defaultWorkerThreads(n))).toEqual([1, 1, 1, 2, 2, 4]);
    expect(loadConfig([], {}).workerThreads).toBe(defaultWorkerThreads());
    expect(loadConfig([], { WORKER_THREADS: '' }).workerThreads).toBe(defaultWorkerThreads());
    expect(loadConfig([], { WORKER_THREADS: '0' }).workerThreads).toBe(0);
  });

  it('rejects bad values with WEFT_NODE_CONFIG', () => {
    expect(() => loadConfig(['--admin-port', 'x'], {})).toThrow(/ADMIN_PORT/);
    expect(() => loadConfig(['--what'], {})).toThrow(/unknown flag/);
    expect(() => loadConfig([], { LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });
});
