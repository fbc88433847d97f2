import { describe, expect, it } from 'vitest';
import { FLAG_NAMES, parseConfig, USAGE, wantsHelp, waypointIdentity } from './config.js';

describe('parseConfig', () => {
  it('has working defaults with file-mounted certificates', () => {
    const c = parseConfig({ CERT_DIR: '/etc/certs', POD_NAMESPACE: 'prod' });
    expect(c).toMatchObject({
      xdsAddress: 'localhost:15010',
      xdsTls: false,
      hbonePort: 15008,
      waypointName: 'waypoint',
      serviceAccount: 'waypoint',
    });
    expect(waypointIdentity(c)).toBe('spiffe://cluster.local/ns/prod/sa/waypoint');
  });

  it('lets flags override the environment', () => {
    const c = parseConfig({ CERT_DIR: '/x', HBONE_PORT: '15008' }, [
      '--hbone-port',
      '16008',
      '--name=wp',
      '--access-log',
      'false',
    ]);
    expect(c.hbonePort).toBe(16008);
    expect(c.waypointName).toBe('wp');
    expect(c.accessLog).toBe(false);
  });

  it.each([
    [{ CERT_DIR: '/x', HBONE_PORT: 'abc' }, [], /HBONE_PORT/],
    [{ CERT_DIR: '/x', XDS_ADDRESS: 'pilot:15012', XDS_TLS: 'true' }, [], /CA_ROOT_CERT/],
    [{}, [], /CERT_DIR/],
    [{ CERT_DIR: '/x' }, ['--bogus', '1'], /unknown flag --bogus/],
    [{ CERT_DIR: '/x', LOG_LEVEL: 'loud' }, [], /LOG_LEVEL/],
  ] as const)('rejects bad input %#', (env, argv, message) => {
    expect(() => parseConfig(env, argv)).toThrow(message);
  });
});

describe('weft-waypoint --help', () => {
  it('names every flag the parser accepts', () => {
    expect(wantsHelp(['--mode', 'ingress', '--help'])).toBe(true);
    for (const flag of FLAG_NAMES) expect(USAGE, flag).toContain(`--${flag}`);
  });
});
