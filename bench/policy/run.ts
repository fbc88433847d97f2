/**
 * bench/policy: decisions per second and per-decision p50/p99 for L4 (node agent) and L7 (waypoint)
 * authorization with 10, 1,000 and 10,000 policies: @weft/policy's compiled, indexed evaluator
 * against a naive linear scan (naive.ts) in the same run.
 *
 *   node --import tsx bench/policy/run.ts [--quick]
 *
 * Timing: decisions run in batches; each batch's time / batch size is one sample; p50/p99 are over
 * the samples. Prints one JSON document, then a summary line.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  compilePolicies,
  evaluate,
  type L4Authorization,
  type L4Connection,
  L4PolicyStore,
  projectL4,
  type RequestAttributes,
} from '@weft/policy';
import { policies, ROOT, type Sample, samples } from './fixture.js';
import { type NaiveRequest, naiveEvaluate, naiveEvaluateL4 } from './naive.js';

const quick = process.argv.includes('--quick');
// a full GC before each measurement, so one evaluator's garbage is not collected on another's clock
setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;
const SIZES = [10, 1_000, 10_000];
const POOL = 512;
const BUDGET_MS = quick ? 40 : 600;

interface Stats {
  readonly decisionsPerSec: number;
  readonly p50ns: number;
  readonly p99ns: number;
  readonly samples: number;
}

function measure(decide: (i: number) => boolean): Stats {
  gc();
  // warm up (JIT) for a quarter of the budget before anything is timed
  const warm = performance.now() + BUDGET_MS / 4;
  for (let k = 0; performance.now() < warm; ) for (let i = 0; i < 256; i++) decide(k++);
  // batch size so one batch takes ~20 µs or more: timer overhead stays small
  let batch = 1;
  for (;;) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) decide(i);
    if (Number(process.hrtime.bigint() - t) > 20_000 || batch >= 4096) break;
    batch *= 2;
  }
  const per: number[] = [];
  let total = 0;
  let n = 0;
  let sink = 0;
  const end = performance.now() + BUDGET_MS;
  let k = 0;
  while (performance.now() < end || per.length < 5) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) if (decide(k++)) sink++;
    const dt = Number(process.hrtime.bigint() - t);
    per.push(dt / batch);
    total += dt;
    n += batch;
  }
  if (sink < 0) console.log(sink);
  per.sort((a, b) => a - b);
  const q = (f: number) => Math.round(per[Math.min(per.length - 1, Math.floor(per.length * f))]!);
  return {
    decisionsPerSec: Math.round(n / (total / 1e9)),
    p50ns: q(0.5),
    p99ns: q(0.99),
    samples: per.length,
  };
}

// requests are built with one constant shape (absent values as undefined), as a proxy would
function l7Request(s: Sample): RequestAttributes {
  return {
    sourcePrincipal: s.principal,
    sourceIp: s.sourceIp,
    destinationIp: s.destinationIp,
    destinationPort: s.port,
    http: { method: s.method, path: s.path, host: 'svc' },
  };
}

function naiveRequest(s: Sample): NaiveRequest {
  return {
    principal: s.principal,
    sourceIp: s.sourceIp,
    port: s.port,
    method: s.method,
    path: s.path,
  };
}

function runSize(n: number) {
  const raw = policies(n);
  const t0 = performance.now();
  const set = compilePolicies({ authorizationPolicies: raw, rootNamespace: ROOT });
  const compileMs = performance.now() - t0;
  if (set.problems.size > 0)
    throw new Error(`fixture has invalid policies: ${[...set.problems.keys()].join(', ')}`);
  const values = set.authorizationPolicies();
  const t1 = performance.now();
  const l4: L4Authorization[] = [];
  for (const p of values) {
    const a = projectL4(p, ROOT).authorization;
    if (a !== null) l4.push(a);
  }
  const store = new L4PolicyStore();
  for (const a of l4) store.upsert(a);
  const projectMs = performance.now() - t1;

  const pool = samples(n, POOL);
  const workloads = new Map<
    string,
    { namespace: string; labels: Record<string, string>; policies: string[] }
  >();
  const wl = pool.map((s) => {
    const key = `${s.namespace}/${s.app}`;
    let w = workloads.get(key);
    if (w === undefined) {
      const labels = { app: s.app };
      w = {
        namespace: s.namespace,
        labels,
        policies: set.l4PolicyKeysForWorkload({ namespace: s.namespace, labels }),
      };
      workloads.set(key, w);
    }
    return w;
  });
  const conns: L4Connection[] = pool.map((s) => ({
    sourceIdentity: s.principal === undefined ? undefined : `spiffe://${s.principal}`,
    sourceIp: s.sourceIp,
    destinationIp: s.destinationIp,
    destinationPort: s.port,
  }));
  const reqs = pool.map(l7Request);
  const nreqs = pool.map(naiveRequest);

  // both evaluators must agree on every sample
  let l4Disagree = 0;
  let l7Disagree = 0;
  let l4Allowed = 0;
  let l7Allowed = 0;
  for (let i = 0; i < POOL; i++) {
    const a = store.evaluate(wl[i]!, conns[i]!).allowed;
    if (a !== naiveEvaluateL4(l4, wl[i]!, nreqs[i]!)) l4Disagree++;
    if (a) l4Allowed++;
    const b = evaluate(set.forWorkload(wl[i]!), reqs[i]!).allowed;
    if (b !== naiveEvaluate(values, wl[i]!, nreqs[i]!, ROOT)) l7Disagree++;
    if (b) l7Allowed++;
  }
  const m = POOL - 1;
  const l4Indexed = measure((i) => store.evaluate(wl[i & m]!, conns[i & m]!).allowed);
  const l4Naive = measure((i) => naiveEvaluateL4(l4, wl[i & m]!, nreqs[i & m]!));
  const l7Indexed = measure((i) => evaluate(set.forWorkload(wl[i & m]!), reqs[i & m]!).allowed);
  const l7Naive = measure((i) => naiveEvaluate(values, wl[i & m]!, nreqs[i & m]!, ROOT));
  return {
    policies: n,
    l4Policies: l4.length,
    compileMs: round(compileMs),
    projectAndIndexL4Ms: round(projectMs),
    allowedShare: { l4: round(l4Allowed / POOL), l7: round(l7Allowed / POOL) },
    disagreements: { l4: l4Disagree, l7: l7Disagree },
    l4: {
      indexed: l4Indexed,
      naive: l4Naive,
      speedupP50: round(l4Naive.p50ns / Math.max(1, l4Indexed.p50ns)),
    },
    l7: {
      indexed: l7Indexed,
      naive: l7Naive,
      speedupP50: round(l7Naive.p50ns / Math.max(1, l7Indexed.p50ns)),
    },
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

const results = SIZES.map(runSize);
const out = { benchmark: 'policy', quick, node: process.version, results };
console.log(JSON.stringify(out, null, 2));
const at1k = results.find((r) => r.policies === 1_000)!;
const at10k = results.find((r) => r.policies === 10_000)!;
console.log(
  `policy: L4 p50 ${at1k.l4.indexed.p50ns} ns @1k (naive ${at1k.l4.naive.p50ns} ns, ${at1k.l4.speedupP50}x), ` +
    `${at10k.l4.indexed.p50ns} ns @10k (${at10k.l4.speedupP50}x); L7 p50 ${at1k.l7.indexed.p50ns} ns @1k (${at1k.l7.speedupP50}x), ` +
    `${at10k.l7.indexed.p50ns} ns @10k (${at10k.l7.speedupP50}x); target L4 p50 < 1000 ns @1k: ${at1k.l4.indexed.p50ns < 1000 ? 'met' : 'MISSED'}`,
);
