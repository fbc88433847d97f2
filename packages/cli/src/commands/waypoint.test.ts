import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { CommandIo } from '../command.js';
import { command } from './waypoint.js';

function io(cwd: string): CommandIo & { out: string; err: string } {
  const o = { out: '', err: '', isTty: false, env: {}, cwd } as CommandIo & { out: string; err: string };
  o.stdout = (t) => {
    o.out += t;
  };
  o.stderr = (t) => {
    o.err += t;
  };
  return o;
}

function objects(dir: string): Record<string, unknown>[] {
  return readdirSync(dir).flatMap((f) =>
    parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Record<string, unknown>),
  );
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'weft-waypoint-cli-'));
  writeFileSync(
    join(dir, '00-namespaces.yaml'),
    '# the namespaces\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n  labels:\n    istio.io/dataplane-mode: ambient # keep me\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: other\n',
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('weftctl waypoint', () => {
  it('apply --enroll-namespace writes the Gateway and labels the namespace, keeping comments', async () => {
    const o = io(dir);
    const code = await command.run(
      { positionals: ['apply'], flags: { namespace: 'prod', 'enroll-namespace': 'true', 'config-dir': dir } },
      o,
    );
    expect(code).toBe(0);
    const all = objects(dir);
    const gw = all.find((x) => x.kind === 'Gateway') as {
      metadata: { namespace: string; name: string };
      spec: unknown;
    };
    expect(gw.metadata).toMatchObject({ namespace: 'prod', name: 'waypoint' });
    expect(gw.spec).toEqual({
      gatewayClassName: 'istio-waypoint',
      listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
    });
    const prod = all.find(
      (x) => x.kind === 'Namespace' && (x.metadata as { name: string }).name === 'prod',
    ) as { metadata: { labels: Record<string, string> } };
    expect(prod.metadata.labels).toEqual({
      'istio.io/dataplane-mode': 'ambient',
      'istio.io/use-waypoint': 'waypoint',
    });
    const text = readFileSync(join(dir, '00-namespaces.yaml'), 'utf8');
    expect(text).toContain('# the namespaces');
    expect(text).toContain('# keep me');
    // Applying again changes nothing but stays valid (idempotent).
    expect(
      await command.run({ positionals: ['apply'], flags: { namespace: 'prod', 'config-dir': dir } }, io(dir)),
    ).toBe(0);
    expect(objects(dir).filter((x) => x.kind === 'Gateway')).toHaveLength(1);
  });

  it('list shows the waypoints and who uses them; delete removes both', async () => {
    await command.run(
      { positionals: ['apply'], flags: { namespace: 'prod', 'enroll-namespace': 'true', 'config-dir': dir } },
      io(dir),
    );
    const l = io(dir);
    expect(await command.run({ positionals: ['list'], flags: { 'config-dir': dir, o: 'json' } }, l)).toBe(0);
    expect(JSON.parse(l.out)).toMatchObject([
      { namespace: 'prod', name: 'waypoint', for: 'service', usedBy: ['Namespace/prod'] },
    ]);
    expect(
      await command.run(
        { positionals: ['delete'], flags: { namespace: 'prod', 'config-dir': dir } },
        io(dir),
      ),
    ).toBe(0);
    const all = objects(dir);
    expect(all.some((x) => x.kind === 'Gateway')).toBe(false);
    const prod = all.find((x) => (x.metadata as { name: string }).name === 'prod') as {
      metadata: { labels: Record<string, string> };
    };
    expect(prod.metadata.labels['istio.io/use-waypoint']).toBeUndefined();
    expect(
      await command.run(
        { positionals: ['delete'], flags: { namespace: 'prod', 'config-dir': dir } },
        io(dir),
      ),
    ).toBe(1);
  });

  it('generate prints the Gateway; bad input is a usage error (exit 2)', async () => {
    const g = io(dir);
    expect(await command.run({ positionals: ['generate'], flags: { namespace: 'prod' } }, g)).toBe(0);
    expect(g.out).toContain('gatewayClassName: istio-waypoint');
    expect(await command.run({ positionals: ['apply'], flags: { namespace: 'prod' } }, io(dir))).toBe(2);
    expect(await command.run({ positionals: ['apply'], flags: { 'config-dir': dir } }, io(dir))).toBe(2);
    expect(await command.run({ positionals: ['bogus'], flags: {} }, io(dir))).toBe(2);
    expect(
      await command.run(
        { positionals: ['apply'], flags: { namespace: 'Bad_NS', 'config-dir': dir } },
        io(dir),
      ),
    ).toBe(2);
  });
});
