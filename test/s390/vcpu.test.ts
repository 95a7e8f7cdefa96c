import assert from 'node:assert/strict';
import { test } from 'node:test';
import { advance, applyStep } from '../../src/s390/steps.ts';
import type { S390ConfigInput } from '../../src/s390/strategy.ts';
import { setupWorld } from '../../src/s390/vm.ts';
import { VCPU_HALTED, VCPU_HOST } from '../../src/s390/world.ts';

const vm1 = (cfg: S390ConfigInput = {}, ids = [0]) => {
  const w = setupWorld(cfg, [{ name: 'a', vcpu_ids: ids, gisc: [6] }]);
  return { w, vm: w.vms[0]!, v: w.vms[0]!.vcpus[0]! };
};

test('handle_wait with an expired clock comparator returns without sleeping', () => {
  const { w, v } = vm1();
  applyStep(w, { kind: 'set_ckc', vm: 0, vcpu: 0, ns: 0 });
  assert.deepEqual(applyStep(w, { kind: 'wait', vm: 0, vcpu: 0 }), { result: 'ok', path: 'ckc_expired' });
  assert.equal(v.state, VCPU_HOST);
});

test('handle_wait with a clock comparator sleeps until the ckc hrtimer wakes the vCPU', () => {
  const { w, vm, v } = vm1();
  applyStep(w, { kind: 'set_ckc', vm: 0, vcpu: 0, ns: 1000 });
  assert.equal(applyStep(w, { kind: 'wait', vm: 0, vcpu: 0 }).result, 'blocked');
  assert.equal(v.ckc_timer_at, 1000);
  assert.deepEqual(
    advance(w, 2000).map((f) => f.timer),
    ['ckc:a/0'],
  );
  assert.equal(applyStep(w, { kind: 'resume', vm: 0, vcpu: 0 }).halt, 'exit');
  assert.equal(vm.idle_mask, 0);
  assert.equal(v.ckc_timer_at, -1);
});

test('v4 re-arms the IAM in handle_wait unconditionally; v6 leaves it alone', () => {
  for (const [strategy, iam] of [
    ['v4', 0x02],
    ['v6', 0x00],
  ] as const) {
    const { w, vm } = vm1({ strategy });
    vm.gisa.iam = 0;
    vm.gisa.ipm = 0x02; // registered ISC pending, but the vCPU's CR6 does not enable it
    vm.vcpus[0]!.cr6 = 0x80;
    assert.equal(applyStep(w, { kind: 'wait', vm: 0, vcpu: 0 }).result, 'blocked', strategy);
    assert.equal(vm.gisa.iam, iam, strategy);
  }
});

test('v7/current: handle_wait with a registered ISC pending that CR6 does not enable sleeps, IAM stays', () => {
  const { w, vm } = vm1({ strategy: 'current' });
  vm.gisa.iam = 0;
  vm.gisa.ipm = 0x02;
  vm.vcpus[0]!.cr6 = 0x80;
  assert.equal(applyStep(w, { kind: 'wait', vm: 0, vcpu: 0 }).result, 'blocked');
  assert.equal(vm.gisa.iam, 0);
});

test('v3 re-arms the IAM when the last vCPU leaves SIE', () => {
  const { w, vm } = vm1({ strategy: 'v3' }, [0, 1]);
  vm.gisa.iam = 0;
  applyStep(w, { kind: 'enter_sie', vm: 0, vcpu: 0 });
  applyStep(w, { kind: 'enter_sie', vm: 0, vcpu: 1 });
  applyStep(w, { kind: 'leave_sie', vm: 0, vcpu: 0 });
  assert.equal(vm.gisa.iam, 0);
  applyStep(w, { kind: 'leave_sie', vm: 0, vcpu: 1 });
  assert.equal(vm.gisa.iam, 0x02);
});

test('pre-F1 SIE entry clears the kicked bit at vcpu_id; post-F1 at vcpu_idx', () => {
  for (const [F1, left] of [
    [true, 0b10],
    [false, 0b11 & ~0b10],
  ] as const) {
    const { w, vm } = vm1({ strategy: 'current', fixes: { F1 } }, [1, 0]);
    vm.gi.kicked_mask = 0b11;
    applyStep(w, { kind: 'enter_sie', vm: 0, vcpu: 0 }); // vcpu_idx 0, vcpu_id 1
    assert.equal(vm.gi.kicked_mask, left, `F1=${F1}`);
  }
});

test('a halted vCPU that is not runnable sleeps again; resume is refused when it is not halted', () => {
  const { w, v } = vm1();
  assert.equal(applyStep(w, { kind: 'resume', vm: 0, vcpu: 0 }).result, 'invalid');
  applyStep(w, { kind: 'wait', vm: 0, vcpu: 0 });
  assert.equal(applyStep(w, { kind: 'resume', vm: 0, vcpu: 0 }).halt, 'sleep');
  assert.equal(v.state, VCPU_HALTED);
});
