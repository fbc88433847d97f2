import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';

export type Readiness =
  | { url: string; status?: number }
  | { tcp: { host: string; port: number } }
  | { logLine: RegExp };

export interface SpawnAppOptions {
  /** Shown in errors and log prefixes. */
  name: string;
  command: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run inside this network namespace (ip netns exec). */
  netns?: string;
  ready?: Readiness;
  /** How long to wait for readiness (default 20 s). */
  timeoutMs?: number;
}

export interface App {
  readonly name: string;
  readonly process: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first output line matching `re` (already written or later). */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code/signal. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly exited: boolean;
}

const running = new Set<ChildProcess>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

async function probe(ready: Readiness): Promise<boolean> {
  if ('url' in ready) {
    try {
      const res = await fetch(ready.url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return res.status === (ready.status ?? 200);
    } catch {
      return false;
    }
  }
  if ('tcp' in ready) {
    return new Promise((resolve) => {
      const socket = connect(ready.tcp);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  }
  return false;
}

/**
 * Spawns a process (optionally inside a network namespace), waits until it is ready, and keeps its
 * output for assertions and for failure messages. Processes still running at exit are killed.
 */
export async function spawnApp(options: SpawnAppOptions): Promise<App> {
  hookExit();
  const argv =
    options.netns === undefined
      ? [options.command, ...(options.args ?? [])]
      : ['ip', 'netns', 'exec', options.netns, options.command, ...(options.args ?? [])];
  const child = spawn(argv[0] as string, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  running.add(child);
  let output = '';
  let exited = false;
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 4 * 1024 * 1024) output = output.slice(-2 * 1024 * 1024);
    for (const w of waiters) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      running.delete(child);
      for (const w of waiters) w();
      resolve({ code, signal });
    });
  });
  child.once('error', (err) => {
    output += `\n[spawn error] ${err.message}\n`;
  });

  const waitForLine = (re: RegExp, timeoutMs = 10_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const line = output.split('\n').find((l) => re.test(l));
        if (line !== undefined) {
          done();
          resolve(line);
        } else if (exited) {
          done();
          reject(new Error(`${options.name} exited before printing ${re}; output:\n${output.slice(-4000)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `${options.name}: no line matching ${re} within ${timeoutMs} ms; output:\n${output.slice(-4000)}`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  const app: App = {
    name: options.name,
    process: child,
    output: () => output,
    waitForLine,
    get exited() {
      return exited;
    },
    stop: async (graceMs = 5000) => {
      if (exited) return exit;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exit;
      clearTimeout(timer);
      return result;
    },
  };

  const ready = options.ready;
  if (ready !== undefined) {
    const timeoutMs = options.timeoutMs ?? 20_000;
    try {
      if ('logLine' in ready) await waitForLine(ready.logLine, timeoutMs);
      else {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          if (exited)
            throw new Error(`${options.name} exited before it was ready; output:\n${output.slice(-4000)}`);
          if (await probe(ready)) break;
          if (Date.now() > deadline)
            throw new Error(
              `${options.name} not ready within ${timeoutMs} ms; output:\n${output.slice(-4000)}`,
            );
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } catch (err) {
      await app.stop(1000);
      throw err;
    }
  }
  return app;
}
