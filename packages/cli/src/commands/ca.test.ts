import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandIo } from '../command.js';
import { command } from './ca.js';

const status = {
  mode: 'self-signed',
  store: 'directory /var/lib/weft/ca',
  trustDomain: 'cluster.local',
  phase: 'switched',
  bundleVersion: 2,
  roots: [
    {
      subject: 'O=cluster.local, CN=Weft Root CA 2026-01-01',
      serial: '01',
      fingerprint256: 'AA:BB:CC:DD:EE:FF:00:11:22:33:44:55',
      notAfter: '2036-01-01T00:00:00.000Z',
      issuing: false,
    },
    {
      subject: 'O=cluster.local, CN=Weft Root CA 2026-11-26',
      serial: '02',
      fingerprint256: '11:22:33:44:55:66:77:88:99:00:AA:BB',
      notAfter: '2036-11-26T00:00:00.000Z',
      issuing: true,
    },
  ],
  switchedAt: '2026-11-26T05:00:00.000Z',
  retireSafeAt: '2026-11-27T05:01:00.000Z',
  defaultTtlSeconds: 86400,
  maxTtlSeconds: 86400,
};

function io(): CommandIo & { out: string; err: string } {
  const o = { out: '', err: '', isTty: false, env: {}, cwd: '/' } as CommandIo & { out: string; err: string };
  o.stdout = (t) => {
    o.out += t;
  };
  o.stderr = (t) => {
    o.err += t;
  };
  return o;
}

describe('weftctl ca', () => {
  let server: Server;
  let admin: string;
  const requests: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      const url = new URL(req.url ?? '/', 'http://x');
      const send = (code: number, body: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (url.pathname === '/ca/status') send(200, status);
      else if (
        url.pathname === '/ca/rotate' &&
        url.searchParams.get('stage') === 'retire' &&
        url.searchParams.get('force') !== 'true'
      )
        send(409, {
          code: 'WEFT_CA_RETIRE_TOO_EARLY',
          message: 'certificates from the old root may be valid until 2026-11-27T05:01:00.000Z',
        });
      else if (url.pathname === '/ca/rotate')
        send(200, { ...status, phase: 'steady', roots: [status.roots[1]] });
      else send(404, { code: 'NOT_FOUND', message: 'no such endpoint' });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    admin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
  });

  it('prints the status for people and as JSON', async () => {
    const t = io();
    expect(await command.run({ positionals: ['status'], flags: { 'pilot-admin': admin } }, t)).toBe(0);
    expect(t.out).toContain('rotation:      switched, trust bundle version 2');
    expect(t.out).toContain('* issuing  O=cluster.local, CN=Weft Root CA 2026-11-26');
    expect(t.out).toContain('next:          after the old root');
    const j = io();
    expect(
      await command.run({ positionals: ['status'], flags: { 'pilot-admin': admin, o: 'json' } }, j),
    ).toBe(0);
    expect(JSON.parse(j.out)).toEqual(status);
  });

  it('runs a stage with POST, reports a refusal with exit 1, and forces when asked', async () => {
    const t = io();
    expect(
      await command.run({ positionals: ['rotate'], flags: { 'pilot-admin': admin, stage: 'retire' } }, t),
    ).toBe(1);
    expect(t.err).toContain('refused: WEFT_CA_RETIRE_TOO_EARLY');
    const f = io();
    expect(
      await command.run(
        { positionals: ['rotate'], flags: { 'pilot-admin': `${admin}/`, stage: 'retire', force: 'true' } },
        f,
      ),
    ).toBe(0);
    expect(f.out).toContain('rotation:      steady');
    expect(requests).toContain('POST /ca/rotate?stage=retire&force=true');
  });

  it.each([
    [[], {}, 'missing subcommand'],
    [['bogus'], {}, 'unknown subcommand "bogus"'],
    [['rotate'], { stage: 'later' }, '--stage must be one of add, switch, retire'],
    [['status'], { o: 'yaml' }, '-o must be json or text'],
    [['status', 'extra'], {}, 'unexpected arguments'],
    [['status'], { 'pilot-admin': 'not a url' }, '--pilot-admin is not a URL'],
  ])('usage error for %j %j', async (positionals, flags, message) => {
    const t = io();
    expect(await command.run({ positionals, flags: { 'pilot-admin': admin, ...flags } }, t)).toBe(2);
    expect(t.err).toContain(message);
  });

  it('says how to fix an unreachable pilot (exit 2)', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const t = io();
    expect(
      await command.run({ positionals: ['status'], flags: { 'pilot-admin': `http://127.0.0.1:${port}` } }, t),
    ).toBe(2);
    expect(t.err).toContain("cannot reach pilot's admin endpoint");
    expect(t.err).toContain('ECONNREFUSED');
  });
});
