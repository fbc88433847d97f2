import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgv } from './args.js';
import type { Command } from './command.js';
import { main } from './main.js';
import { captureIo } from './test-io.js';

const echo: Command = {
  name: 'echo',
  summary: 'print the arguments',
  usage: 'weftctl echo [args]',
  async run(args, io) {
    io.stdout(`${JSON.stringify(args)}\n`);
    return args.flags.fail === 'true' ? 1 : 0;
  },
};
const broken: Command = {
  name: 'broken',
  summary: 'throws',
  usage: 'weftctl broken',
  async run() {
    throw Object.assign(new Error('bad value'), { code: 'WEFT_MANIFESTS_BAD_VALUE' });
  },
};

describe('weftctl main', () => {
  it('parses flags the documented ways', () => {
    expect(
      parseArgv([
        'check',
        'tls',
        'web',
        '-n',
        'prod',
        '--port=80',
        '-o',
        'json',
        '--force',
        'x',
        '--set',
        'a=1',
        '--set',
        'b=2',
      ]),
    ).toEqual({
      positionals: ['check', 'tls', 'web', 'x'],
      flags: { namespace: 'prod', port: '80', output: 'json', o: 'json', force: 'true', set: 'b=2' },
      all: { namespace: ['prod'], port: ['80'], output: ['json'], force: ['true'], set: ['a=1', 'b=2'] },
    });
    expect(parseArgv(['x', '--', '--not-a-flag']).positionals).toEqual(['x', '--not-a-flag']);
  });

  it('dispatches to a command and returns its exit code', async () => {
    const io = captureIo();
    expect(await main(['echo', 'a', '--b', 'c'], io, [echo])).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({ positionals: ['a'], flags: { b: 'c' } });
    expect(await main(['echo', '--fail'], captureIo(), [echo])).toBe(1);
  });

  it('help, --help and --version', async () => {
    const io = captureIo();
    expect(await main(['help'], io, [echo])).toBe(0);
    expect(io.out()).toContain('echo');
    expect(io.out()).toContain('Exit codes');
    const one = captureIo();
    expect(await main(['echo', '--help'], one, [echo])).toBe(0);
    expect(one.out()).toContain('weftctl echo [args]');
    const v = captureIo();
    expect(await main(['--version'], v, [echo])).toBe(0);
    expect(v.out()).toMatch(/^weftctl \d+\.\d+\.\d+\n$/);
    expect(await main([], captureIo(), [echo])).toBe(2);
  });

  it('unknown commands and thrown errors are usage errors (2) with a message', async () => {
    const io = captureIo();
    expect(await main(['ech'], io, [echo])).toBe(2);
    expect(io.err()).toContain('did you mean echo');
    const b = captureIo();
    expect(await main(['broken'], b, [broken])).toBe(2);
    expect(b.err()).toContain('WEFT_MANIFESTS_BAD_VALUE: bad value');
  });

  it('lists every registered command', async () => {
    const io = captureIo();
    await main(['help'], io);
    for (const name of ['install', 'check', 'certs', 'config']) expect(io.out()).toContain(`  ${name} `);
  });

  it('colours a terminal only, and never with --no-color or NO_COLOR', async () => {
    const dir = join(import.meta.dirname, 'testdata');
    const argv = ['check', 'tls', 'prod/web-1', '--config-dir', dir];
    const tty = captureIo({ isTty: true });
    await main(argv, tty);
    expect(tty.out()).toContain('\u001b[32m');
    for (const io of [captureIo({ isTty: true, env: { NO_COLOR: '1' } }), captureIo()]) {
      await main(argv, io);
      expect(io.out()).not.toContain('\u001b[');
    }
    const flag = captureIo({ isTty: true });
    await main([...argv, '--no-color'], flag);
    expect(flag.out()).not.toContain('\u001b[');
  });
});
