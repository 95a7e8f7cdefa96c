import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkDistSpec, compileDist, type DistSpec } from '../../../src/sim/engine/dist.ts';
import { Mulberry32, type UniformSource } from '../../../src/sim/engine/rng.ts';

/** Replays fixed uniforms and counts draws. */
class Scripted implements UniformSource {
  draws = 0;
  constructor(private readonly us: number[]) {}
  next(): number {
    const u = this.us[this.draws % this.us.length]!;
    this.draws++;
    return u;
  }
}

/** Wraps a real stream and counts draws. */
class Counting implements UniformSource {
  draws = 0;
  constructor(private readonly inner: UniformSource) {}
  next(): number {
    this.draws++;
    return this.inner.next();
  }
}

const specs: Array<[DistSpec, number]> = [
  [{ dist: 'constant', value: 5 }, 0],
  [{ dist: 'uniform', min: 1, max: 5 }, 1],
  [{ dist: 'exponential', mean: 10 }, 1],
  [{ dist: 'lognormal', median: 100, sigma: 0.5 }, 2],
  [{ dist: 'empirical', values: [1, 2, 3] }, 1],
  [{ dist: 'empirical', values: [1, 2, 3], weights: [1, 0, 2] }, 1],
];

test('each kind consumes a fixed number of draws per sample', () => {
  for (const [spec, perSample] of specs) {
    const d = compileDist(spec);
    const src = new Counting(new Mulberry32(1));
    for (let i = 0; i < 1000; i++) d.sample(src);
    assert.equal(src.draws, 1000 * perSample, spec.dist);
  }
});

test('sampling is deterministic for a given seed', () => {
  for (const [spec] of specs) {
    const d = compileDist(spec);
    const a = new Mulberry32(77);
    const b = new Mulberry32(77);
    for (let i = 0; i < 100; i++) assert.equal(d.sample(a), d.sample(b));
  }
});

test('exponential is des.c expo(): -mean * ln(1 - u), bit for bit', () => {
  const d = compileDist({ dist: 'exponential', mean: 100 });
  const a = new Mulberry32(12345);
  const b = new Mulberry32(12345);
  for (let i = 0; i < 10000; i++) {
    const mean = 100;
    assert.equal(d.sample(a), -mean * Math.log(1 - b.next()));
  }
});

test('constant and uniform map draws as documented', () => {
  assert.equal(compileDist({ dist: 'constant', value: 7 }).sample(new Scripted([0.5])), 7);
  const u = compileDist({ dist: 'uniform', min: 10, max: 20 });
  assert.equal(u.sample(new Scripted([0])), 10);
  assert.equal(u.sample(new Scripted([0.25])), 12.5);
  assert.ok(u.sample(new Scripted([1 - 2 ** -32])) < 20);
  assert.equal(compileDist({ dist: 'uniform', min: 3, max: 3 }).sample(new Scripted([0.9])), 3);
});

test('lognormal: Box–Muller from u1 then u2, median * exp(sigma * z)', () => {
  const d = compileDist({ dist: 'lognormal', median: 100, sigma: 0.5 });
  const u1 = 0.3;
  const u2 = 0.1;
  const z = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  assert.equal(d.sample(new Scripted([u1, u2])), 100 * Math.exp(0.5 * z));
  // u1 = 0 gives z = 0 (finite, no log(0)): the median.
  assert.equal(d.sample(new Scripted([0, 0.7])), 100);
  // sigma 0 is a constant.
  const c = compileDist({ dist: 'lognormal', median: 42, sigma: 0 });
  assert.equal(c.sample(new Mulberry32(3)), 42);
});

test('lognormal: sample median and log-moments match the parameters', () => {
  const d = compileDist({ dist: 'lognormal', median: 100, sigma: 0.5 });
  const rng = new Mulberry32(2024);
  const n = 40001;
  const xs = new Float64Array(n);
  let sumLog = 0;
  let sumLog2 = 0;
  for (let i = 0; i < n; i++) {
    const x = d.sample(rng);
    xs[i] = x;
    const l = Math.log(x / 100);
    sumLog += l;
    sumLog2 += l * l;
  }
  xs.sort();
  assert.ok(Math.abs(xs[(n - 1) / 2]! / 100 - 1) < 0.02, `median ${xs[(n - 1) / 2]}`);
  assert.ok(Math.abs(sumLog / n) < 0.01, `mean log ${sumLog / n}`);
  assert.ok(Math.abs(Math.sqrt(sumLog2 / n) - 0.5) < 0.01, `sd log ${Math.sqrt(sumLog2 / n)}`);
});

test('exponential and uniform sample means match mean()', () => {
  for (const spec of [
    { dist: 'exponential', mean: 10 },
    { dist: 'uniform', min: 2, max: 6 },
  ] as DistSpec[]) {
    const d = compileDist(spec);
    const rng = new Mulberry32(5);
    let s = 0;
    const n = 100000;
    for (let i = 0; i < n; i++) s += d.sample(rng);
    assert.ok(Math.abs(s / n / d.mean() - 1) < 0.02, `${spec.dist}: ${s / n} vs ${d.mean()}`);
  }
});

test('empirical: uniform over the values', () => {
  const d = compileDist({ dist: 'empirical', values: [10, 20, 30, 40] });
  assert.equal(d.sample(new Scripted([0])), 10);
  assert.equal(d.sample(new Scripted([0.2499])), 10);
  assert.equal(d.sample(new Scripted([0.25])), 20);
  assert.equal(d.sample(new Scripted([1 - 2 ** -32])), 40);
  const counts = new Map<number, number>();
  const rng = new Mulberry32(9);
  for (let i = 0; i < 40000; i++) {
    const x = d.sample(rng);
    counts.set(x, (counts.get(x) ?? 0) + 1);
  }
  for (const v of [10, 20, 30, 40]) assert.ok(Math.abs(counts.get(v)! / 10000 - 1) < 0.05, `${v}`);
});

test('empirical with weights: proportional, zero weights never drawn', () => {
  const d = compileDist({ dist: 'empirical', values: [1, 2, 3, 4], weights: [0, 3, 0, 1] });
  assert.equal(d.sample(new Scripted([0])), 2);
  assert.equal(d.sample(new Scripted([0.7499])), 2);
  assert.equal(d.sample(new Scripted([0.75])), 4);
  assert.equal(d.sample(new Scripted([1 - 2 ** -32])), 4);
  const rng = new Mulberry32(11);
  let twos = 0;
  const n = 40000;
  for (let i = 0; i < n; i++) {
    const x = d.sample(rng);
    assert.ok(x === 2 || x === 4);
    if (x === 2) twos++;
  }
  assert.ok(Math.abs(twos / n - 0.75) < 0.01, `${twos / n}`);
  assert.equal(d.mean(), (3 * 2 + 4) / 4);
});

test('mean() formulas', () => {
  assert.equal(compileDist({ dist: 'constant', value: 3 }).mean(), 3);
  assert.equal(compileDist({ dist: 'uniform', min: 1, max: 3 }).mean(), 2);
  assert.equal(compileDist({ dist: 'exponential', mean: 9 }).mean(), 9);
  assert.equal(compileDist({ dist: 'lognormal', median: 10, sigma: 1 }).mean(), 10 * Math.exp(0.5));
  assert.equal(compileDist({ dist: 'empirical', values: [1, 2, 6] }).mean(), 3);
});

test('invalid specs are rejected', () => {
  const bad: DistSpec[] = [
    { dist: 'constant', value: Number.NaN },
    { dist: 'uniform', min: 5, max: 1 },
    { dist: 'exponential', mean: 0 },
    { dist: 'lognormal', median: 0, sigma: 1 },
    { dist: 'lognormal', median: 1, sigma: -1 },
    { dist: 'empirical', values: [] },
    { dist: 'empirical', values: [1, 2], weights: [1] },
    { dist: 'empirical', values: [1, 2], weights: [0, 0] },
    { dist: 'empirical', values: [1, 2], weights: [1, -1] },
  ];
  for (const spec of bad) {
    assert.notEqual(checkDistSpec(spec), null, JSON.stringify(spec));
    assert.throws(() => compileDist(spec), RangeError);
  }
  for (const [spec] of specs) assert.equal(checkDistSpec(spec), null);
});
