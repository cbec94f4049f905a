// The lean histogram behind plangate_decision_duration_seconds and plangate_upstream_duration_seconds
// must read exactly like prom-client's own Histogram for the same observations.
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/ops/latency-histogram.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const observations = [0.0001, 0.0005, 0.0007, 0.003, 0.003, 0.04, 0.6, 1, 2.5, 30];

describe('LatencyHistogram', () => {
  it('exposes the same text as prom-client Histogram for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const lean = new LatencyHistogram('test_latency_seconds', 'A test latency', BUCKETS, ours);
    const reference = new Histogram({ name: 'test_latency_seconds', help: 'A test latency', buckets: BUCKETS, registers: [theirs] });
    // Before any observation ours already shows zero series (prom-client shows none until the first).
    expect(await ours.metrics()).toContain('test_latency_seconds_count 0');
    for (const seconds of observations) {
      lean.observe(seconds);
      reference.observe(seconds);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('test_latency_seconds_bucket{le="0.0005"} 2');
    expect(text).toContain('test_latency_seconds_bucket{le="+Inf"} 10');
    expect(text).toContain('test_latency_seconds_count 10');
    lean.reset();
    expect(await ours.metrics()).toContain('test_latency_seconds_bucket{le="+Inf"} 0');
  });
});
