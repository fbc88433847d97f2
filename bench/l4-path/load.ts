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

/**
 * `rate` requests per second of `size` bytes for `seconds`, spread over `conns` connections, each
 * request answered by an echo of the same size. Open loop in 10 ms ticks; latency from send to the last
 * byte of the echo; a request waits for its connection's previous one (counted from its own send).
 */
export async function fixedRate(
  netnsPath: string,
  host: string,
  port: number,
  opts: { rate: number; size: number; seconds: number; conns: number },
): Promise<LatencyResult> {
  const ns = Netns.open(netnsPath);
  const sockets = await Promise.all(Array.from({ length: opts.conns }, () => openEcho(ns, host, port)));
  const payload = Buffer.alloc(opts.size, 0x61);
  const total = Math.round(opts.rate * opts.seconds);
  const samples = new Float64Array(total);
  let done = 0;
  let errors = 0;
  const state = sockets.map((s) => ({ s, pending: [] as number[], received: 0, queued: 0 }));
  for (const st of state) {
    st.s.on('data', (d: Buffer) => {
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
    });
    st.s.on('error', () => {
      errors++;
    });
  }
  const perTick = opts.rate / 100;
  let sent = 0;
  let carry = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      carry += perTick;
      while (carry >= 1 && sent < total) {
        carry -= 1;
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
    }, 10);
  });
  const deadline = performance.now() + 10_000;
  while (done + errors < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const elapsed = (performance.now() - started) / 1000;
  for (const st of state) st.s.destroy();
  ns.close();
  const sorted = samples.slice(0, done).sort();
  return {
    requests: done,
    errors: errors + (total - done),
    rps: Math.round(done / elapsed),
    p50us: Math.round(pct(sorted, 0.5)),
    p90us: Math.round(pct(sorted, 0.9)),
    p99us: Math.round(pct(sorted, 0.99)),
    maxus: Math.round(sorted[sorted.length - 1] ?? 0),
  };
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
