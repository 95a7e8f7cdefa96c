import assert from 'node:assert/strict';
import { test } from 'node:test';
import { __airqs_kick_single_vcpu, gisa_vcpu_kicker } from '../../src/s390/kicker.ts';
import { advance, applyStep } from '../../src/s390/steps.ts';
import type { S390ConfigInput } from '../../src/s390/strategy.ts';
import { startKicker } from '../../src/s390/timers.ts';
import { setupWorld } from '../../src/s390/vm.ts';

/** Three idle vCPUs with the given CR6 bytes, all halted. */
function idleVm(cfg: S390ConfigInput, cr6: number[]) {
  const w = setupWorld(cfg, [{ name: 'a', vcpu_ids: cr6.map((_, i) => i), gisc: [6] }]);
  const vm = w.vms[0]!;
  cr6.forEach((m, i) => {
    vm.vcpus[i]!.cr6 = m;
    applyStep(w, { kind: 'enter_sie', vm: 0, vcpu: i });
    applyStep(w, { kind: 'wait', vm: 0, vcpu: i });
  });
  w.events.length = 0;
  return { w, vm };
}

const woken = (w: ReturnType<typeof idleVm>['w']) =>
  w.events.filter((e) => e.event === 'wakeup').map((e) => e.vcpu);

test('F3 on: a non-matching candidate is skipped, the first matching one is kicked', () => {
  const { w, vm } = idleVm({ strategy: 'current' }, [0x80, 0x40, 0x02]);
  __airqs_kick_single_vcpu(w, vm, 0x02);
  assert.deepEqual(woken(w), ['a/2']);
  assert.equal(vm.gi.kicked_mask, 0b100);
});

test('F3 off: the first candidate ANDs its CR6 into deliverable_mask and nobody is kicked', () => {
  const { w, vm } = idleVm({ strategy: 'current', fixes: { F3: false } }, [0x80, 0x40, 0x02]);
  __airqs_kick_single_vcpu(w, vm, 0x02);
  assert.deepEqual(woken(w), []);
  assert.equal(vm.gi.kicked_mask, 0);
});

test('F3 off still kicks when the first enabled candidate matches', () => {
  const { w, vm } = idleVm({ strategy: 'v7' }, [0x02, 0x80]);
  __airqs_kick_single_vcpu(w, vm, 0x02);
  assert.deepEqual(woken(w), ['a/0']);
});

test('at most one vCPU per tick, and an in-flight kick stops the scan', () => {
  const { w, vm } = idleVm({}, [0xff, 0xff]);
  __airqs_kick_single_vcpu(w, vm, 0x02);
  __airqs_kick_single_vcpu(w, vm, 0x02);
  assert.deepEqual(woken(w), ['a/0']);
  assert.equal(w.events.filter((e) => e.event === 'kick_in_flight').length, 1);
});

test('the kicker re-arms 50 µs after its expiry; fired late, it skips to the next period after now', () => {
  const { w, vm } = idleVm({}, [0xff]);
  vm.gisa.ipm = 0x02;
  startKicker(w, vm, 10);
  const fired = advance(w, 100);
  assert.deepEqual(
    fired.map((f) => [f.t, f.outcome.ret]),
    [[10, 'RESTART']],
  );
  assert.equal(vm.gi.timer_at, 50_010);
  w.now = 120_000; // the callback runs late (hrtimer_forward_now semantics)
  assert.equal(gisa_vcpu_kicker(w, vm), 'RESTART');
  assert.equal(vm.gi.timer_at, 150_010);
});

test('timers with equal expiry fire in arming order', () => {
  const w = setupWorld({}, [
    { name: 'a', vcpu_ids: [0], gisc: [6] },
    { name: 'b', vcpu_ids: [0], gisc: [6] },
  ]);
  startKicker(w, w.vms[1]!, 5);
  startKicker(w, w.vms[0]!, 5);
  assert.deepEqual(
    advance(w, 5).map((f) => f.timer),
    ['kicker:b', 'kicker:a'],
  );
});
