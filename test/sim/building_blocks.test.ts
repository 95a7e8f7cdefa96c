// The simulator's small pieces: the latency histogram, the Zipf sampler, the random streams, and the
// compare statistics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarize } from '../../src/sim/compare.ts';
import { Xoshiro128, xoshiro128Stream } from '../../src/sim/engine/rng.ts';
import { LogHistogram } from '../../src/sim/histogram.ts';
import { ZipfSampler } from '../../src/sim/zipf.ts';

test('histogram: quantiles within 1% of the exact order statistics, exact max', () => {
  const h = new LogHistogram();
  const xs: number[] = [];
  const rng = new Xoshiro128(1);
  for (let i = 0; i < 20000; i++) {
    const x = Math.floor(-Math.log(1 - rng.next()) * 150_000);
    xs.push(x);
    h.record(x);
  }
  xs.sort((a, b) => a - b);
  for (const q of [0.5, 0.95, 0.99]) {
    const exact = xs[Math.ceil(q * xs.length) - 1]!;
    assert.ok(Math.abs(h.quantile(q) - exact) / exact < 0.01, `q${q}: ${h.quantile(q)} vs ${exact}`);
  }
  assert.equal(h.max, xs[xs.length - 1]);
  const small = new LogHistogram();
  for (const v of [0, 3, 3, 100]) small.record(v);
  assert.equal(small.quantile(0.5), 3);
  assert.equal(small.quantile(1), 100);
});

test('zipf: rank frequencies follow k^-s', () => {
  const z = new ZipfSampler(1000, 1.1);
  const rng = new Xoshiro128(42);
  const counts = new Float64Array(1001);
  const n = 200_000;
  for (let i = 0; i < n; i++) counts[z.sample(rng)]!++;
  let h = 0;
  for (let k = 1; k <= 1000; k++) h += k ** -1.1;
  for (const k of [1, 2, 10, 100]) {
    const want = (n * k ** -1.1) / h;
    assert.ok(
      Math.abs(counts[k]! - want) < 5 * Math.sqrt(want) + 0.02 * want,
      `rank ${k}: ${counts[k]} vs ${want}`,
    );
  }
  assert.equal(counts[0], 0);
});

test('random streams: a stream depends only on (seed, name); names give different sequences', () => {
  const a = xoshiro128Stream(5, 'vm:a/task0');
  const b = xoshiro128Stream(5, 'vm:a/task0');
  const c = xoshiro128Stream(5, 'vm:a/task1');
  const xa = [a.next(), a.next(), a.next()];
  assert.deepEqual(xa, [b.next(), b.next(), b.next()]);
  assert.notDeepEqual(xa, [c.next(), c.next(), c.next()]);
  for (let i = 0; i < 1000; i++) {
    const u = a.next();
    assert.ok(u >= 0 && u < 1);
  }
});

test('compare statistics: mean and Student-t 95% interval', () => {
  const s = summarize([10, 12, 14]);
  assert.equal(s.mean, 12);
  assert.ok(Math.abs(s.ci95 - 4.303 * Math.sqrt(4 / 3)) < 1e-9);
  assert.deepEqual(summarize([5]), { mean: 5, ci95: 0 });
});
