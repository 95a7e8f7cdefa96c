import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { distSpecSchema, durationDistSchema } from '../../../src/sim/engine/dist_schema.ts';
import { sizeSchema } from '../../../src/sim/engine/quantity_schema.ts';

const field = z.strictObject({ latency: durationDistSchema });

function ok(v: unknown) {
  const r = field.safeParse({ latency: v });
  assert.ok(r.success, r.success ? '' : JSON.stringify(r.error.issues));
  return r.data.latency;
}
/** The first issue as "path: message" (what the scenario loader turns into a one-line error). */
function firstError(v: unknown): string {
  const r = field.safeParse({ latency: v });
  assert.ok(!r.success, `expected an error for ${JSON.stringify(v)}`);
  const i = r.error.issues[0]!;
  return `${i.path.join('.')}: ${i.message}`;
}

test('plain values are constants, in ns', () => {
  assert.deepEqual(ok('10us'), { dist: 'constant', value: 10_000 });
  assert.deepEqual(ok('250ns'), { dist: 'constant', value: 250 });
  // issue 13: a duration needs its unit (0 excepted).
  assert.deepEqual(ok(0), { dist: 'constant', value: 0 });
  assert.match(firstError(250), /^latency: a duration needs a unit/);
});

test('each object form parses, with units converted', () => {
  assert.deepEqual(ok({ dist: 'constant', value: '2ms' }), { dist: 'constant', value: 2_000_000 });
  assert.deepEqual(ok({ dist: 'uniform', min: '1us', max: '5us' }), {
    dist: 'uniform',
    min: 1000,
    max: 5000,
  });
  assert.deepEqual(ok({ dist: 'exponential', mean: '10us' }), { dist: 'exponential', mean: 10_000 });
  assert.deepEqual(ok({ dist: 'lognormal', median: '100us', sigma: 0.5 }), {
    dist: 'lognormal',
    median: 100_000,
    sigma: 0.5,
  });
  assert.deepEqual(ok({ dist: 'empirical', values: ['10us', '20us'] }), {
    dist: 'empirical',
    values: [10_000, 20_000],
  });
  assert.deepEqual(ok({ dist: 'empirical', values: ['10us', '5ns'], weights: [3, 1] }), {
    dist: 'empirical',
    values: [10_000, 5],
    weights: [3, 1],
  });
});

test('errors point at the offending field with a descriptive message', () => {
  assert.match(firstError('abc'), /^latency: expected a duration like "10us".*got "abc"$/);
  assert.match(firstError(true), /^latency: expected a duration.*got true$/);
  assert.match(firstError(undefined), /^latency: expected a duration.*missing/);
  assert.match(
    firstError({ dist: 'expo', mean: '1ns' }),
    /^latency\.dist: expected one of "constant", .*got "expo"$/,
  );
  assert.match(firstError({ mean: '1ns' }), /^latency\.dist: expected one of .*got nothing$/);
  assert.match(
    firstError({ dist: 'exponential', mean: 'x' }),
    /^latency\.mean: expected a duration.*got "x"$/,
  );
  assert.match(firstError({ dist: 'exponential', mean: 0 }), /^latency\.mean: mean must be greater than 0$/);
  assert.match(
    firstError({ dist: 'uniform', min: '5us', max: '1us' }),
    /^latency\.max: max must not be less than min$/,
  );
  assert.match(firstError({ dist: 'uniform', min: '5ns' }), /^latency\.max: expected a duration.*missing/);
  assert.match(
    firstError({ dist: 'lognormal', median: '1us', sigma: -1 }),
    /^latency\.sigma: sigma must be a number >= 0$/,
  );
  assert.match(
    firstError({ dist: 'lognormal', median: '1us', sigma: '0.5' }),
    /^latency\.sigma: sigma must be/,
  );
  assert.match(
    firstError({ dist: 'lognormal', median: 0, sigma: 1 }),
    /^latency\.median: median must be greater than 0$/,
  );
  assert.match(
    firstError({ dist: 'empirical', values: [] }),
    /^latency\.values: values must list at least one/,
  );
  assert.match(
    firstError({ dist: 'empirical', values: ['1us', 'zz'] }),
    /^latency\.values\.1: expected a duration/,
  );
  assert.match(
    firstError({ dist: 'empirical', values: ['1ns', '2ns'], weights: [1] }),
    /^latency\.weights: weights must have one entry per value$/,
  );
  assert.match(
    firstError({ dist: 'empirical', values: ['1ns', '2ns'], weights: [0, 0] }),
    /^latency\.weights: at least one weight/,
  );
  assert.match(
    firstError({ dist: 'empirical', values: ['1ns'], weights: [-1] }),
    /^latency\.weights\.0: a weight must be a number >= 0$/,
  );
  assert.match(firstError([1, 2]), /^latency: expected a duration.*got a list$/);
});

test("unknown keys keep zod's unrecognized_keys code (the scenario loader words it)", () => {
  const r = field.safeParse({ latency: { dist: 'exponential', mean: '1ns', meen: 2 } });
  assert.ok(!r.success);
  const i = r.error.issues[0]!;
  assert.equal(i.code, 'unrecognized_keys');
  assert.deepEqual(i.path, ['latency']);
});

test('distSpecSchema takes another value parser (e.g. sizes)', () => {
  const s = distSpecSchema(sizeSchema);
  assert.deepEqual(s.parse('4KiB'), { dist: 'constant', value: 4096 });
  assert.deepEqual(s.parse({ dist: 'uniform', min: '4K', max: '2MiB' }), {
    dist: 'uniform',
    min: 4096,
    max: 2 ** 21,
  });
  assert.ok(!s.safeParse('4KB').success);
});
