/**
 * Load generators that run inside a pod's network namespace from this process (sockets made there with
 * @weft/netns): fixed-rate 1 KB request/response latency, and many idle tunnels.
 */
import type { Socket } from 'node:net';
import { connectIn, Netns } from '@weft/netns';

/** The echo app answers each new connection with "<port>|<client ip>|" before echoing. */
function openEcho(ns: Netns, host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connectIn(ns, { host, port });
    let seen = 0;
    const onData = (d: Buffer) => {
      // The greeting ends with the second '|'.
      for (const byte of d) if (byte === 0x7c) seen++;
      if (seen >= 2) {
        s.off('data', onData);
        s.off('error', reject);
        resolve(s);
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.setTimeout(15_000, () => s.destroy(new Error('greeting timeout')));
  });
}

export interface LatencyResult {
  requests: number;
  errors: number;
  rps: number;
  p50us: number;
  p90us: number;
  p99us: number;
  maxus: number;
}

function pct(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** One run's raw latencies (µs, in completion order), failures and length. */
export interface LatencyRun {
  samples: Float64Array;
  errors: number;
  seconds: number;
}

/** Percentiles over one or more runs (e.g. slices interleaved with another path's). */
export function summarize(runs: readonly LatencyRun[]): LatencyResult {
  let n = 0;
  for (const r of runs) n += r.samples.length;
  const all = new Float64Array(n);
  let at = 0;
  for (const r of runs) {
    all.set(r.samples, at);
    at += r.samples.length;
  }
  const sorted = all.sort();
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  return {
    requests: n,
    errors: runs.reduce((e, r) => e + r.errors, 0),
    rps: Math.round(n / Math.max(seconds, 1e-9)),
    p50us: Math.round(pct(sorted, 0.5)),
    p90us: Math.round(pct(sorted, 0.9)),
    p99us: Math.round(pct(sorted, 0.99)),
    maxus: Math.round(sorted[sorted.length - 1] ?? 0),
  };
}

/**
 * `conns` persistent echo connections from inside a pod's namespace, kept open across runs (so connection
 * setup stays out of what a run measures).
 */
export class EchoLoad {
  private constructor(
    private readonly ns: Netns,
    private readonly sockets: Socket[],
  ) {}

  static async open(netnsPath: string, host: string, port: number, conns: number): Promise<EchoLoad> {
    const ns = Netns.open(netnsPath);
    const sockets = await Promise.all(Array.from({ length: conns }, () => openEcho(ns, host, port)));
    for (const s of sockets) s.setTimeout(0);
    return new EchoLoad(ns, sockets);
  }

  /**
   * `rate` requests per second of `size` bytes for `seconds`, spread over the connections, each request
   * answered by an echo of the same size. Open loop: every `tickMs` (default 10 ms) the requests due by then
   * are sent, round-robin over the connections — at 1,000 req/s, 10 ms ticks send bursts of 10 (one per
   * connection at once), 1 ms ticks pace them one at a time. Latency from send to the last byte of the echo;
   * a request waits for its connection's previous one (counted from its own send). Waits for every answer
   * (up to 10 s) before it returns, so runs do not overlap.
   */
  async run(opts: { rate: number; size: number; seconds: number; tickMs?: number }): Promise<LatencyRun> {
    const payload = Buffer.alloc(opts.size, 0x61);
    const total = Math.round(opts.rate * opts.seconds);
    const samples = new Float64Array(total);
    let done = 0;
    let errors = 0;
    const state = this.sockets.map((s) => ({ s, pending: [] as number[], received: 0, queued: 0 }));
    const listeners = state.map((st) => {
      const onData = (d: Buffer) => {
        st.received += d.length;
        while (st.received >= opts.size && st.pending.length > 0) {
          st.received -= opts.size;
          const t = st.pending.shift() as number;
          samples[done++] = (performance.now() - t) * 1000;
          if (st.queued > 0) {
            st.queued--;
            st.pending.push(performance.now());
            st.s.write(payload);
          }
        }
      };
      const onError = () => {
        errors++;
      };
      st.s.on('data', onData);
      st.s.on('error', onError);
      return { st, onData, onError };
    });
    let sent = 0;
    const started = performance.now();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        // Due by the clock, not by the tick count: timers fire late under load, and the rate must hold.
        const due = Math.min(total, Math.floor(((performance.now() - started) * opts.rate) / 1000));
        while (sent < due) {
          const st = state[sent % state.length];
          sent++;
          if (st === undefined) continue;
          if (st.pending.length > 0) st.queued++;
          else {
            st.pending.push(performance.now());
            st.s.write(payload);
          }
        }
        if (sent >= total) {
          clearInterval(timer);
          resolve();
        }
      }, opts.tickMs ?? 10);
    });
    const deadline = performance.now() + 10_000;
    while (done + errors < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const seconds = (performance.now() - started) / 1000;
    for (const { st, onData, onError } of listeners) {
      st.s.off('data', onData);
      st.s.off('error', onError);
    }
    return { samples: samples.slice(0, done), errors: errors + (total - done), seconds };
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.ns.close();
  }
}

/** One run over fresh connections (opened before, closed after the run). */
export async function fixedRate(
  netnsPath: string,
  host: string,
  port: number,
  opts: { rate: number; size: number; seconds: number; conns: number },
): Promise<LatencyResult> {
  const load = await EchoLoad.open(netnsPath, host, port, opts.conns);
  try {
    return summarize([await load.run(opts)]);
  } finally {
    load.close();
  }
}

/** Opens `count` idle echo connections (200 at a time); returns them and how many failed. */
export async function idleTunnels(
  netnsPath: string,
  host: string,
  port: number,
  count: number,
): Promise<{ sockets: Socket[]; failed: number; close: () => void }> {
  const ns = Netns.open(netnsPath);
  const sockets: Socket[] = [];
  let failed = 0;
  for (let i = 0; i < count; i += 200) {
    const batch = await Promise.allSettled(
      Array.from({ length: Math.min(200, count - i) }, () => openEcho(ns, host, port)),
    );
    for (const r of batch) {
      if (r.status === 'fulfilled') {
        r.value.on('error', () => undefined);
        sockets.push(r.value);
      } else failed++;
    }
  }
  return {
    sockets,
    failed,
    close: () => {
      for (const s of sockets) s.destroy();
      ns.close();
    },
  };
}
