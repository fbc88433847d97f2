/**
 * `weftctl demo traffic`: a request loop from inside a pod (so it goes through capture and the mesh),
 * each request on a new connection, counting failures; a line per second and a summary at the end.
 */
import { spawn } from 'node:child_process';
import type { CommandIo } from '../command.js';
import { loadLayout } from './config-files.js';
import { DemoError, DemoErrorCode } from './errors.js';
import { findPod } from './layout.js';
import { readState } from './state.js';

/** Plain JavaScript (no loader needed) run by node inside the pod: argv url seconds concurrency. */
const LOOP = `
import http from 'node:http';
const [url, seconds, concurrency] = process.argv.slice(1);
const until = Number(seconds) > 0 ? Date.now() + Number(seconds) * 1000 : Infinity;
const s = { requests: 0, ok: 0, failed: 0, statuses: {}, errors: {} };
let stopping = false;
let last = { requests: 0, failed: 0 };
const t0 = Date.now();
const one = () => new Promise((resolve) => {
  const req = http.get(url, { agent: false, timeout: 5000, headers: { connection: 'close' } }, (res) => {
    res.resume();
    res.on('end', () => { s.statuses[res.statusCode] = (s.statuses[res.statusCode] ?? 0) + 1; if (res.statusCode === 200) s.ok++; else s.failed++; resolve(); });
    res.on('error', (e) => { s.errors[e.code ?? e.message] = (s.errors[e.code ?? e.message] ?? 0) + 1; s.failed++; resolve(); });
  });
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
  req.on('error', (e) => { s.errors[e.code ?? e.message] = (s.errors[e.code ?? e.message] ?? 0) + 1; s.failed++; resolve(); });
  s.requests++;
});
const worker = async () => { while (!stopping && Date.now() < until) await one(); };
const tick = setInterval(() => {
  const r = s.requests - last.requests, f = s.failed - last.failed;
  last = { requests: s.requests, failed: s.failed };
  process.stdout.write('t=' + Math.round((Date.now() - t0) / 1000) + 's ' + r + ' req/s, ' + f + ' failed (total ' + s.requests + ', ' + s.failed + ' failed)\\n');
}, 1000);
const stop = () => { stopping = true; };
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
clearInterval(tick);
process.stdout.write('SUMMARY ' + JSON.stringify(s) + '\\n');
`;

export interface TrafficSummary {
  requests: number;
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  errors: Record<string, number>;
}

export const DEFAULT_TRAFFIC = { from: 'web', url: 'http://payments-0.prod.pod:8080/get', concurrency: 2 };

export async function runTraffic(
  stateDir: string,
  options: { from: string; url: string; seconds: number; concurrency: number; json: boolean },
  io: CommandIo,
): Promise<number> {
  const state = await readState(stateDir);
  if (state === undefined || state.mode !== 'full')
    throw new DemoError(
      DemoErrorCode.NotRunning,
      `no full demo running (state ${stateDir}); start it with \`weftctl demo up\``,
    );
  const layout = await loadLayout(state.configDir);
  const pod = findPod(layout, options.from);
  if (pod === undefined) throw new DemoError(DemoErrorCode.Unknown, `no pod ${options.from}`);
  if (!options.json)
    io.stdout(
      `traffic from ${pod.namespace}/${pod.name} to ${options.url}, new connection per request${options.seconds > 0 ? `, ${options.seconds} s` : ' (Ctrl-C to stop)'}\n`,
    );
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      pod.netns,
      process.execPath,
      '--input-type=module',
      '-e',
      LOOP,
      '--',
      options.url,
      String(options.seconds),
      String(options.concurrency),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const forward = () => child.kill('SIGINT');
  process.once('SIGINT', forward);
  let summary: TrafficSummary | undefined;
  let buffer = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.startsWith('SUMMARY ')) summary = JSON.parse(line.slice(8)) as TrafficSummary;
      else if (!options.json) io.stdout(`${line}\n`);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => io.stderr(d));
  await new Promise<void>((resolve) => child.once('close', () => resolve()));
  process.off('SIGINT', forward);
  if (summary === undefined) {
    io.stderr('the traffic loop ended without a summary\n');
    return 2;
  }
  if (options.json) io.stdout(`${JSON.stringify(summary)}\n`);
  else
    io.stdout(
      `${summary.requests} requests, ${summary.ok} ok, ${summary.failed} failed${summary.failed > 0 ? ` (statuses ${JSON.stringify(summary.statuses)}, errors ${JSON.stringify(summary.errors)})` : ''}\n`,
    );
  return summary.failed === 0 && summary.requests > 0 ? 0 : 1;
}
