import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@weft/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import type { LifecycleRequest } from './lifecycle-protocol.js';
import { LifecycleServer } from './lifecycle-server.js';

const pod = {
  uid: 'u1',
  name: 'a',
  namespace: 'ns',
  serviceAccount: 'sa',
  netnsPath: '/var/run/netns/x',
  ips: ['10.0.0.1'],
};

/** Sends lines on one connection and collects exactly `count` ack lines. */
function converse(path: string, lines: string[], count: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      const acks = buf.split('\n').filter((l) => l !== '');
      if (acks.length >= count) {
        s.end();
        resolve(acks.map((l) => JSON.parse(l)));
      }
    });
    s.once('error', reject);
    // Split writes mid-line to prove framing does not depend on packet boundaries.
    const text = `${lines.join('\n')}\n`;
    s.write(text.slice(0, 7));
    setImmediate(() => s.write(text.slice(7)));
  });
}

describe('lifecycle socket', () => {
  let dir: string | undefined;
  let server: LifecycleServer | undefined;
  afterEach(async () => {
    await server?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('acks each line in order, reports bad lines with a code, and keeps the connection usable', async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-lifecycle-'));
    const path = join(dir, 'sub', 'node.sock');
    const seen: string[] = [];
    server = await LifecycleServer.start(
      path,
      async (req: LifecycleRequest) => {
        // The first request is slow: ordering must still hold.
        if (req.type === 'add') await new Promise((r) => setTimeout(r, 30));
        seen.push(req.type);
        if (req.type === 'del' && req.uid === 'boom')
          throw Object.assign(new Error('no such pod'), { code: 'WEFT_NODE_POD_ADD' });
      },
      silentLogger(),
    );
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const acks = await converse(
      path,
      [
        JSON.stringify({ type: 'add', pod }),
        'not json',
        JSON.stringify({ type: 'del', uid: 'boom' }),
        JSON.stringify({ type: 'snapshot', pods: [] }),
      ],
      4,
    );
    expect(acks).toEqual([
      { ok: true },
      {
        ok: false,
        error: { code: 'WEFT_NODE_BAD_MESSAGE', message: 'not valid JSON (one JSON object per line)' },
      },
      { ok: false, error: { code: 'WEFT_NODE_POD_ADD', message: 'no such pod' } },
      { ok: true },
    ]);
    expect(seen).toEqual(['add', 'del', 'snapshot']);
  });

  it('fails to start with WEFT_NODE_LIFECYCLE_SOCKET when the path cannot be used', async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-lifecycle-'));
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    // The socket's directory would have to be inside a regular file: ENOTDIR.
    await expect(
      LifecycleServer.start(join(file, 'node.sock'), async () => undefined, silentLogger()),
    ).rejects.toMatchObject({
      code: 'WEFT_NODE_LIFECYCLE_SOCKET',
    });
  });
});
