import { describe, expect, it } from 'vitest';
import { loadConfig, USAGE, wantsHelp } from './config.js';

describe('weft-node settings', () => {
  it('--help lists every flag the parser accepts, with its environment name', () => {
    expect(wantsHelp(['--workers', '1', '-h'])).toBe(true);
    const flags = [...USAGE.matchAll(/(--[a-z-]+)/g)].map((m) => m[1] as string);
    for (const flag of flags) {
      const value =
        flag === '--uninstall-on-exit'
          ? []
          : [flag === '--log-level' ? 'debug' : flag.endsWith('port') ? '1' : '2'];
      expect(() => loadConfig([flag, ...value], {}), flag).not.toThrow();
    }
    expect(() => loadConfig(['--nope'], {})).toThrow(/unknown flag --nope; known: --xds-address/);
    for (const env of ['XDS_ADDRESS', 'CA_ROOT_CERT', 'WORKER_THREADS', 'SECRET_TTL', 'UNINSTALL_ON_EXIT'])
      expect(USAGE).toContain(env);
  });
});
