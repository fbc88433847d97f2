import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { addressWaypointByHostname } from './waypoint-address.js';

const SERVICES = readFileSync(
  new URL('../../../../deploy/examples/demo/config/04-services.yaml', import.meta.url),
  'utf8',
);

describe('addressing the waypoint by hostname (demo config copy only)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-demo-wp-'));
  const config = join(dir, 'config');
  mkdirSync(config);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('drops only the waypoint Service clusterIP and keeps every other document intact', async () => {
    writeFileSync(join(config, '04-services.yaml'), SERVICES);
    const file = await addressWaypointByHostname(config, 'prod', 'waypoint');
    expect(file).toBe(join(config, '04-services.yaml'));
    const before = parseAllDocuments(SERVICES).map((d) => d.toJS());
    const after = parseAllDocuments(readFileSync(join(config, '04-services.yaml'), 'utf8')).map((d) =>
      d.toJS(),
    );
    expect(after).toHaveLength(before.length);
    for (const [i, o] of after.entries()) {
      if (o.metadata.name === 'waypoint') expect(o.spec.clusterIP).toBeUndefined();
      else expect(o).toEqual(before[i]);
    }
    expect(await addressWaypointByHostname(config, 'prod', 'waypoint')).toBeUndefined();
    expect(await addressWaypointByHostname(config, 'prod', 'nope')).toBeUndefined();
  });
});
