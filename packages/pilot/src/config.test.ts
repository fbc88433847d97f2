import { describe, expect, it } from 'vitest';
import { parsePilotConfig } from './config.js';

describe('pilot config: where the CA keeps its root', () => {
  it('uses a directory by default and a Secret with CA_SECRET / --ca-secret', () => {
    expect(parsePilotConfig([], {}).ca).toMatchObject({ dir: './var/lib/weft/ca', secret: undefined });
    expect(parsePilotConfig([], { CA_SECRET: 'weft-system/weft-ca' }).ca.secret).toEqual({
      namespace: 'weft-system',
      name: 'weft-ca',
    });
    expect(parsePilotConfig(['--ca-secret', 'mesh/root.v2'], {}).ca.secret).toEqual({
      namespace: 'mesh',
      name: 'root.v2',
    });
  });

  it('refuses a Secret reference that is not namespace/name', () => {
    for (const bad of ['weft-ca', 'a/b/c', 'Weft/CA', '/x'])
      expect(() => parsePilotConfig([], { CA_SECRET: bad })).toThrow(
        expect.objectContaining({ code: 'WEFT_PILOT_BAD_CONFIG' }),
      );
  });
});
