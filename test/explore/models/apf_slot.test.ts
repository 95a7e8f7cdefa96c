import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bfs } from '../../../src/explore/bfs.ts';
import { dfs } from '../../../src/explore/dfs.ts';
import { apfSlotModel } from '../../../src/explore/models/apf_slot.ts';
import { renderTrace } from '../../../src/explore/trace.ts';

// The exact counts of the bench README §2 for the atomic-step encoding, BFS without reduction.
const counts: Array<[number, number, number]> = [
  [2, 3, 18_517],
  [3, 4, 974_625],
  // About 12 M transitions: a few seconds on the reference machine.
  [3, 5, 2_946_903],
];

for (const [ntask, ntok, states] of counts) {
  test(`apf_slot ${ntask}×${ntok}: BFS stores exactly ${states} states and every check holds`, () => {
    const r = bfs(apfSlotModel({ ntask, ntok }), { maxStates: 4_000_000 });
    assert.equal(r.kind, 'ok');
    assert.equal(r.stats.states, states);
    assert.ok(r.stats.bytesPerState <= 80, `${r.stats.bytesPerState} B/state`);
  });
}

test('apf_slot 2×3: DFS stores the same 18,517 states', () => {
  const r = dfs(apfSlotModel({ ntask: 2, ntok: 3 }), { maxStates: 100_000 });
  assert.equal(r.kind, 'ok');
  assert.equal(r.stats.states, 18_517);
});

test('BUG_ACK_BEFORE_CLEAR 2×3: the shortest counterexample is an invalid end state after 19 steps', () => {
  const model = apfSlotModel({ ntask: 2, ntok: 3, bugAckBeforeClear: true });
  const r = bfs(model, { maxStates: 100_000 });
  assert.ok(r.kind === 'invalid-end', r.kind);
  assert.equal(r.property, 'invalid end state');
  assert.equal(r.trace.steps.length, 19);
  // The trace replays step by step from the initial state.
  const s = model.initial();
  for (let k = 0; k < r.trace.steps.length; k++) {
    assert.equal(model.apply(s, r.trace.steps[k] as number), null);
    assert.deepEqual(s, r.trace.states[k + 1]);
  }
  // Stranded: a task sleeps on a token that sits in doneq while nothing can deliver it.
  const last = model.describe(r.trace.states[19] as Int32Array);
  assert.notEqual(last.doneq, '[]');
  assert.equal(last.slot, 0);
  assert.equal(last.req, 0);
  assert.equal(last.hpc, 0);
  assert.equal(model.enabled(r.trace.states[19] as Int32Array, new Int32Array(model.stepCount)), 0);
  const text = renderTrace(model, r.trace);
  assert.match(text, /^19\. /m);
  assert.match(text, /guest IRQ: ACKs \(req = 1\) before clearing the slot/);
});

test('BUG_ACK_BEFORE_CLEAR 2×3: DFS finds an invalid end state too', () => {
  const r = dfs(apfSlotModel({ ntask: 2, ntok: 3, bugAckBeforeClear: true }), { maxStates: 100_000 });
  assert.equal(r.kind, 'invalid-end');
});

test('the finished = NTASK assertion and the in-step assertions fire on states that break them', () => {
  const model = apfSlotModel({ ntask: 2, ntok: 3 });
  const finishedAssert = 'assert(len(doneq) == 0 && nextTok == NTOK + 1)';
  assert.equal(model.invariant(model.initial()), null);
  assert.equal(model.invariant(model.stateWith({ nextTok: 4, finished: 2, doneqLen: 1 })), finishedAssert);
  assert.equal(model.invariant(model.stateWith({ nextTok: 3, finished: 2 })), finishedAssert);
  assert.equal(model.invariant(model.stateWith({ nextTok: 4, finished: 2 })), null);
  assert.equal(model.invariant(model.stateWith({ nextTok: 3, finished: 1 })), null);

  // gpc 1 with gt = 0: assert(t != 0); a second page-ready for the same token: assert(!dummy[t]).
  const steps = new Int32Array(model.stepCount);
  const irq = model.stateWith({ gpc: 1, gt: 0 });
  const n = model.enabled(irq, steps);
  const guest = Array.from(steps.subarray(0, n)).find((s) => model.stepLabel(s, irq).startsWith('guest IRQ'));
  assert.ok(guest !== undefined);
  assert.equal(model.apply(irq, guest), 'assert(t != 0)');
  const twice = model.stateWith({ gpc: 1, gt: 2 });
  assert.equal(model.apply(twice, guest), null);
  assert.equal(model.describe(twice)['dummy[2]'], 1);
  const again = model.stateWith({ gpc: 1, gt: 2 });
  model.copy(twice, again);
  model.stateWith({ gpc: 1, gt: 2 }, again);
  assert.equal(model.apply(again, guest), 'assert(!dummy[t])');
});

test('encode/decode round-trip and the initial state', () => {
  const model = apfSlotModel({ ntask: 3, ntok: 5 });
  assert.equal(model.stateWords, 3);
  assert.equal(apfSlotModel({ ntask: 2, ntok: 3 }).stateWords, 2);
  const s = model.initial();
  const d = model.describe(s);
  assert.equal(d.nextTok, 1);
  assert.equal(d.pending, '{}');
  assert.equal(d['task3.pc'], 0);
  const buf = new Int32Array(model.stateWords);
  model.encode(s, buf);
  const back = model.initial();
  back.fill(-1);
  model.decode(buf, 0, back);
  assert.deepEqual(back, s);
  assert.throws(() => apfSlotModel({ ntask: 0, ntok: 3 }), RangeError);
  assert.throws(() => apfSlotModel({ ntask: 2, ntok: 31 }), RangeError);
});
