import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createSecureContext, type TLSSocket } from 'node:tls';
import { TestCa } from '@weft/testkit';
import { describe, expect, it } from 'vitest';
import { parseSubjectAltName, peerSpiffeId, spiffeIdsOf } from './certificate.js';
import { mtlsServer } from './testing.js';

describe('peer SPIFFE IDs', () => {
  it('parses Node subjectaltname strings, quoted values included', () => {
    expect(parseSubjectAltName('URI:spiffe://td/ns/a/sa/b, DNS:x.example, IP Address:10.0.0.1')).toEqual([
      ['URI', 'spiffe://td/ns/a/sa/b'],
      ['DNS', 'x.example'],
      ['IP Address', '10.0.0.1'],
    ]);
    expect(parseSubjectAltName('URI:"spiffe://td/ns/a,b/sa/c", DNS:y')).toEqual([
      ['URI', 'spiffe://td/ns/a,b/sa/c'],
      ['DNS', 'y'],
    ]);
    expect(parseSubjectAltName(undefined)).toEqual([]);
  });

  it('reads the client identity on a real mTLS connection', async () => {
    const ca = await TestCa.create();
    const server = await ca.workload('prod', 'server');
    const client = await ca.workload('prod', 'orders');
    expect(spiffeIdsOf(new X509Certificate(client.certPem))).toEqual([client.spiffeId]);
    const serverCtx = createSecureContext({ cert: server.chainPem, key: server.keyPem, ca: ca.certPem });
    let resolveSeen!: (id: string | undefined) => void;
    const seen = new Promise<string | undefined>((resolve) => {
      resolveSeen = resolve;
    });
    const srv = mtlsServer(
      () => serverCtx,
      (s: TLSSocket) => {
        resolveSeen(peerSpiffeId(s));
        s.end();
      },
    );
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const sock = connect({
      port: (srv.address() as AddressInfo).port,
      host: '127.0.0.1',
      secureContext: createSecureContext({ cert: client.chainPem, key: client.keyPem, ca: ca.certPem }),
      checkServerIdentity: () => undefined,
    });
    sock.setNoDelay(true);
    await once(sock, 'secureConnect');
    expect(peerSpiffeId(sock)).toBe(server.spiffeId);
    expect(await seen).toBe(client.spiffeId);
    sock.destroy();
    srv.close();
  });
});
