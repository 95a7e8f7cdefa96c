import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeState, encodeInto, encodeState, stateKey, stateWords } from '../../src/s390/codec.ts';
import { __inject_io } from '../../src/s390/float_irq.ts';
import { applyStep, enabledSteps } from '../../src/s390/steps.ts';
import { startKicker } from '../../src/s390/timers.ts';
import { setupWorld } from '../../src/s390/vm.ts';
import type { S390World } from '../../src/s390/world.ts';

const fresh = (strategy: 'current' | 'v7' | 'v5') =>
  setupWorld({ strategy }, [
    { name: 'a', vcpu_ids: [0, 1], gisc: [3, 6], ai_budget: 3 },
    { name: 'b', vcpu_ids: [4], gisc: [6], ai_budget: 2 },
  ]);

/**
 * Walks `picks` through enabled steps (each pick chooses among the enabled ones). VM destroys are among them,
 * so the walk's KICK phase, arch_destroyed and walk_uaf are covered too.
 */
const OPTS = { spuriousWakeups: true, destroys: true };
function walkTo(w: S390World, picks: number[]): void {
  for (const p of picks) {
    const steps = enabledSteps(w, OPTS);
    if (steps.length === 0) return;
    applyStep(w, steps[p % steps.length]!);
  }
}

test('encode → decode → encode is the identity, and the decoded world behaves the same', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('current', 'v7', 'v5' as const),
      fc.array(fc.nat(), { maxLength: 40 }),
      fc.nat(),
      (strategy, picks, next) => {
        const template = fresh(strategy);
        const w = fresh(strategy);
        walkTo(w, picks);
        const enc = encodeState(w);
        assert.equal(enc.length, stateWords(template));
        const back = decodeState(template, enc);
        assert.deepEqual(encodeState(back), enc);
        const a = enabledSteps(w, OPTS);
        assert.deepEqual(enabledSteps(back, OPTS), a);
        if (a.length) {
          const s = a[next % a.length]!;
          applyStep(w, s);
          applyStep(back, s);
          assert.deepEqual(encodeState(back), encodeState(w));
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('statistics, events and absolute time are not part of the key; timers are, as "armed"', () => {
  const a = fresh('current');
  const b = fresh('current');
  b.stat.IRQIO_GAL = 7;
  b.events.push({ event: 'x' });
  b.now = 12345;
  assert.equal(stateKey(a), stateKey(b));
  startKicker(b, b.vms[0]!, 50);
  assert.notEqual(stateKey(a), stateKey(b));
});

test('relative time mode keeps the ns left on each timer', () => {
  const w = fresh('current');
  w.now = 1000;
  startKicker(w, w.vms[1]!, 250);
  const back = decodeState(w, encodeState(w, { time: 'relative' }), { time: 'relative' });
  assert.equal(back.vms[1]!.gi.timer_at, 1250);
});

test('classic lists beyond classicCap are a RangeError, within it they round-trip', () => {
  const w = fresh('current');
  const vm = w.vms[0]!;
  const io = { ai: false, isc: 2, subchannel_id: 1, subchannel_nr: 9, io_int_parm: 0xdeadbeef };
  __inject_io(w, vm, io);
  __inject_io(w, vm, io);
  const back = decodeState(w, encodeState(w));
  assert.deepEqual(back.vms[0]!.fi.lists[2], vm.fi.lists[2]);
  __inject_io(w, vm, io);
  assert.throws(() => encodeState(w), RangeError);
  assert.doesNotThrow(() => encodeState(w, { classicCap: 3 }));
});

test('encodeInto writes exactly stateWords words, for every codec option', () => {
  const w = fresh('current');
  for (const opts of [{}, { classicCap: 0 }, { classicCap: 3, time: 'relative' as const }]) {
    const out = new Int32Array(stateWords(w, opts) + 8);
    assert.equal(encodeInto(w, out, opts), stateWords(w, opts));
  }
});

test('a value that does not fit its packed field is a RangeError naming it, never a silent merge', () => {
  const w = fresh('current');
  w.vms[0]!.gi.ref_count[3] = 16;
  assert.throws(() => encodeState(w), /codec: ref_count = 16 does not fit/);
  const v = fresh('current');
  v.vms[1]!.gisa.next_alert = 0x12345000;
  assert.throws(() => encodeState(v), /codec: next_alert = .* does not fit/);
  const c = fresh('current');
  __inject_io(c, c.vms[0]!, { ai: false, isc: 2, subchannel_id: 1, subchannel_nr: 9, io_int_parm: 0 });
  assert.throws(() => encodeState(c, { classicCap: 0 }), /exceeds classicCap/);
});
