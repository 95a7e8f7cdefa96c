// The worked examples' compare verdicts (docs/variants.md), through the library: what each variant buys
// and costs against the scenario as written. One seed each, short runs; the assertions are the directions
// and the orders of magnitude the guide states, not the exact numbers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Comparison, compareWithVariants } from '../../src/index.ts';

const mean = (c: Comparison, col: number, key: string): number => c.modes[col]!.metrics[key]!.mean;

test('ack-less: no guest work at all; ack-less-polled: the same work, fewer exits, a much later page-ready', async () => {
  const c = await compareWithVariants('examples/variants/web-small.yaml', {
    variants: [
      ['examples/variants/ack-less.ts'],
      ['examples/variants/ack-less.ts', 'examples/variants/ack-less-polled.ts'],
    ],
    seeds: 1,
  });
  assert.deepEqual(
    c.modes.map((m) => m.variant),
    ['base', 'ack-less', 'ack-less+ack-less-polled'],
  );
  assert.ok(mean(c, 0, 'task_cpu_rate') > 3, 'base works');
  assert.equal(mean(c, 1, 'task_cpu_rate'), 0, 'ack-less: every waiter stranded');
  assert.ok(
    Math.abs(mean(c, 2, 'task_cpu_rate') / mean(c, 0, 'task_cpu_rate') - 1) < 0.03,
    'polled: same work',
  );
  assert.ok(mean(c, 2, 'exits_per_s') < 0.9 * mean(c, 0, 'exits_per_s'), 'polled: no ACK exits');
  assert.ok(
    mean(c, 2, 'page_ready_p50') > 20 * mean(c, 0, 'page_ready_p50'),
    'polled: page-ready waits for an exit',
  );
});

test('glisse-change-pte on a 6.1 KSM host: no zaps, fewer guest faults, about the same memory saved', async () => {
  const c = await compareWithVariants('examples/variants/ksm-small.yaml', {
    variants: [['examples/variants/glisse-change-pte.ts']],
    seeds: 1,
  });
  assert.ok(mean(c, 0, 'sptes_zapped_per_s') > 100);
  assert.equal(mean(c, 1, 'sptes_zapped_per_s'), 0);
  assert.ok(mean(c, 1, 'guest_faults_per_s') < 0.6 * mean(c, 0, 'guest_faults_per_s'));
  // KSM saves the same memory (within 2%: the guests' timing, and so the scanner's, moves a little).
  assert.ok(Math.abs(mean(c, 1, 'ksm_saved_mib') / mean(c, 0, 'ksm_saved_mib') - 1) < 0.02);
});

test('numa-no-zap: more guest work, and NUMA balancing goes blind (no hinting faults, no migrations)', async () => {
  const c = await compareWithVariants('examples/variants/numa-small.yaml', {
    variants: [['examples/variants/numa-no-zap.ts']],
    seeds: 1,
  });
  assert.ok(mean(c, 1, 'task_cpu_rate') > 1.1 * mean(c, 0, 'task_cpu_rate'));
  assert.ok(mean(c, 0, 'numa_hinting_faults_per_s') > 1000);
  assert.ok(mean(c, 0, 'numa_migrations_per_s') > 100);
  assert.equal(mean(c, 1, 'numa_hinting_faults_per_s'), 0);
  assert.equal(mean(c, 1, 'numa_migrations_per_s'), 0);
  assert.equal(mean(c, 1, 'sptes_zapped_per_s'), 0);
});

test("docs/variants.md's library example: loadScenarioVariants, then explore", async () => {
  const { explore, loadScenario, loadScenarioVariants } = await import('../../src/index.ts');
  const sc = await loadScenarioVariants(loadScenario('examples/variants/ack-less.explore.yaml'));
  const r = explore(sc);
  assert.equal(r.arch, 'x86');
  if (r.arch === 'x86') {
    assert.equal(r.outcome.verdict, 'counterexample');
    assert.equal(r.outcome.counterexample?.property, 'wakeup-liveness');
  }
});
