import { type ConfigProblem, type KubeObject, toKubeObject } from '@weft/config';
import { createRegistry } from '@weft/telemetry';
import { waitFor } from '@weft/testkit';
import { describe, expect, it } from 'vitest';
import { Discovery } from './discovery.js';
import type { ConfigSource } from './sources/source.js';

/** A source driven by the test: set objects, then call `changed()`. */
class ManualSource implements ConfigSource {
  readonly name = 'manual';
  objects: KubeObject[] = [];
  #onChange: (eventAt?: number) => void = () => {};
  async start(onChange: (eventAt?: number) => void): Promise<void> {
    this.#onChange = onChange;
  }
  snapshot(): { objects: readonly KubeObject[]; problems: readonly ConfigProblem[] } {
    return { objects: this.objects, problems: [] };
  }
  async close(): Promise<void> {}
  set(names: string[], eventAt?: number): void {
    this.objects = names.map((n) => {
      const r = toKubeObject(
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: n, namespace: 'a' },
          spec: { nodeName: 'node1' },
          status: { podIP: `10.0.0.${names.indexOf(n) + 1}` },
        },
        undefined,
      );
      if (r.object === undefined) throw new Error('bad test object');
      return r.object;
    });
    this.#onChange(eventAt);
  }
}

describe('Discovery', () => {
  it('coalesces a burst of changes into one push after the debounce', async () => {
    const source = new ManualSource();
    const registry = createRegistry({ processMetrics: false });
    const d = new Discovery({ sources: [source], debounceMs: 50, registry });
    await d.start();
    expect(d.version).toBe(1);
    for (let i = 1; i <= 10; i++) source.set(Array.from({ length: i }, (_, k) => `p${k}`));
    expect(d.version).toBe(1); // nothing yet: still inside the debounce window
    await waitFor(() => d.version === 2, { what: 'the coalesced push' });
    expect(d.state?.workloads.size).toBe(10);
    await new Promise<void>((resolve) => {
      const off = d.onPush(() => {
        off();
        resolve();
      });
      source.set(['x']);
    });
    expect(d.version).toBe(3);
    expect(await registry.getSingleMetricAsString('pilot_proxy_convergence_time')).toMatch(/_count 2/);
    await d.close();
  });

  it('still pushes during a continuous stream of changes, at most maxDelay late', async () => {
    const source = new ManualSource();
    const d = new Discovery({ sources: [source], debounceMs: 50, maxDelayMs: 120 });
    await d.start();
    let i = 0;
    const timer = setInterval(() => source.set([`p${i++}`]), 10);
    try {
      await waitFor(() => d.version >= 3, {
        what: 'pushes despite the stream',
        timeoutMs: 5000,
        intervalMs: 10,
      });
    } finally {
      clearInterval(timer);
    }
    await d.close();
  });

  it('counts the debounce from when the source saw the event, not from when it reported it', async () => {
    const source = new ManualSource();
    const registry = createRegistry({ processMetrics: false });
    // A debounce no test would wait for: only an event that is already that old can be pushed now.
    const d = new Discovery({ sources: [source], debounceMs: 60_000, registry });
    await d.start();
    source.set(['fresh']);
    source.set(['old'], performance.now() - 60_000);
    // The newer event still holds the window open: nothing is pushed.
    expect(d.version).toBe(1);
    d.flush();
    expect(d.state?.workloads.size).toBe(1);
    const pushed = new Promise<void>((resolve) => {
      const off = d.onPush(() => {
        off();
        resolve();
      });
    });
    source.set(['a', 'b'], performance.now() - 60_000);
    await pushed;
    expect(d.version).toBe(3);
    expect(d.state?.workloads.size).toBe(2);
    // Convergence is measured from the events: both pushes waited on a change a minute old.
    const metric = await registry.getSingleMetricAsString('pilot_proxy_convergence_time');
    expect(metric).toMatch(/_count 2/);
    expect(Number(/_sum ([0-9.e+-]+)/.exec(metric)?.[1])).toBeGreaterThanOrEqual(120);
    await d.close();
  });

  it('analyzes once pushes are quiet, not on every push', async () => {
    const bad = toKubeObject(
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bad', namespace: 'a' }, status: { podIP: 'nope' } },
      undefined,
    ).object;
    if (bad === undefined) throw new Error('bad test object');
    const quietSource = new ManualSource();
    const deferred = new Discovery({
      sources: [quietSource],
      analysisQuietMs: 60_000,
      analysisMaxDelayMs: 60_000,
    });
    await deferred.start();
    quietSource.objects = [bad];
    deferred.flush();
    deferred.flush();
    expect(deferred.version).toBe(3);
    // Pushed, but not analyzed yet: the problem is not reported.
    expect(deferred.problems).toEqual([]);
    await deferred.close();

    const source = new ManualSource();
    const d = new Discovery({ sources: [source], analysisQuietMs: 20 });
    await d.start();
    source.objects = [bad];
    d.flush();
    await waitFor(() => d.problems.length > 0, { what: 'the analysis after the quiet period' });
    expect(d.problems.map((p) => p.code)).toContain('WEFT_CONFIG_INVALID_OBJECT');
    await d.close();
  });
});
