// The expected order of a protocol comparison and the notes on departures from it (compare_order.ts).
// Issue "The discrete-event simulator", Done means: interrupt ≥ legacy ≥ off ≥ sync in guest work done
// when tasks per vCPU > 1, and the reverse cases explained when not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ModeFigures, orderNotes } from '../../src/sim/compare_order.ts';
import type { ApfMode } from '../../src/sim/schema.ts';

/** A mode's figures: guest work ± ci, and the other metrics the notes quote. */
function mode(m: ApfMode, work: number, ci = 0.01, extra: Record<string, number> = {}): ModeFigures {
  const metrics: Record<string, { mean: number; ci95: number }> = {
    task_cpu_rate: { mean: work, ci95: ci },
  };
  const defaults = { exits_per_s: 1000, apf_exits: 1, page_ready_p50: 5, apf_halted: 0, sync_blocked: 0 };
  for (const [k, v] of Object.entries({ ...defaults, ...extra })) metrics[k] = { mean: v, ci95: 0 };
  return { mode: m, metrics };
}

test('the expected order gives no notes, whatever order the modes ran in', () => {
  const modes = [mode('off', 11), mode('sync', 10), mode('legacy', 12), mode('interrupt', 13)];
  assert.deepEqual(orderNotes(modes, 4), []);
});

test('legacy over interrupt: the mechanism, with the exit rates and latencies of the comparison', () => {
  const notes = orderNotes(
    [
      mode('interrupt', 15.5, 0.01, { exits_per_s: 152000, page_ready_p50: 4 }),
      mode('legacy', 15.6, 0.01, { exits_per_s: 82000, page_ready_p50: 787.5 }),
    ],
    4,
  );
  assert.equal(notes.length, 1);
  const n = notes[0]!;
  assert.equal(n.expected, 'interrupt');
  assert.equal(n.over, 'legacy');
  assert.equal(n.significant, true);
  assert.match(n.text, /^legacy did 0\.6% more guest work than interrupt: /);
  assert.match(n.text, /next exit/);
  assert.match(n.text, /interrupt 152,000 vs legacy 82,000/);
  assert.match(n.text, /interrupt 4 µs vs legacy 787\.5 µs/);
});

test('an inversion inside the 95% intervals is called noise, not explained', () => {
  const [n] = orderNotes([mode('off', 11.7, 0.05), mode('sync', 11.72, 0.05)], 4);
  assert.equal(n?.significant, false);
  assert.match(n!.text, /within seed-to-seed noise/);
});

test('one task per vCPU: async PF has nothing to overlap, and the note says so', () => {
  const [n] = orderNotes([mode('interrupt', 7.9, 0.01, { apf_exits: 2.5 }), mode('off', 8.0)], 1);
  assert.equal(n?.expected, 'interrupt');
  assert.equal(n?.over, 'off');
  assert.match(n!.text, /1 task per vCPU/);
  assert.match(n!.text, /interrupt 2\.5% vs off 1%/);
});

test('only adjacent pairs among the modes that ran are checked', () => {
  // sync above interrupt (legacy and off did not run): one note, interrupt vs sync.
  const notes = orderNotes([mode('sync', 12), mode('interrupt', 10)], 4);
  assert.deepEqual(
    notes.map((n) => [n.expected, n.over]),
    [['interrupt', 'sync']],
  );
  // Every pair inverted: three notes.
  const all = orderNotes([mode('interrupt', 1), mode('legacy', 2), mode('off', 3), mode('sync', 4)], 4);
  assert.deepEqual(
    all.map((n) => [n.expected, n.over]),
    [
      ['interrupt', 'legacy'],
      ['legacy', 'off'],
      ['off', 'sync'],
    ],
  );
  assert.match(all[2]!.text, /artificial halt/);
});
