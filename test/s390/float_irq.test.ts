import assert from 'node:assert/strict';
import { test } from 'node:test';
import { __find_vcpu_for_floating_irq } from '../../src/s390/float_irq.ts';
import { applyStep } from '../../src/s390/steps.ts';
import type { S390ConfigInput } from '../../src/s390/strategy.ts';
import { setupWorld } from '../../src/s390/vm.ts';

const vm3 = (cfg: S390ConfigInput = {}) => {
  const w = setupWorld(cfg, [{ name: 'a', vcpu_ids: [0, 1, 2] }]);
  return { w, vm: w.vms[0]! };
};
const idle = (w: ReturnType<typeof vm3>['w'], idx: number) => {
  applyStep(w, { kind: 'enter_sie', vm: 0, vcpu: idx });
  applyStep(w, { kind: 'wait', vm: 0, vcpu: idx });
};

test('idle_first: the lowest idle vCPU, else round robin from next_rr_cpu', () => {
  const { w, vm } = vm3();
  assert.deepEqual(
    [0, 1, 2, 3].map(() => __find_vcpu_for_floating_irq(w, vm)!.vcpu_idx),
    [0, 1, 2, 0],
  );
  idle(w, 2);
  idle(w, 1);
  assert.equal(__find_vcpu_for_floating_irq(w, vm)!.vcpu_idx, 1);
});

test('last_sleep_cpu (6.18): the vCPU that went to sleep last, idle or not', () => {
  const { w, vm } = vm3({ floating_kick: 'last_sleep_cpu' });
  assert.equal(__find_vcpu_for_floating_irq(w, vm)!.vcpu_idx, 0);
  idle(w, 1);
  idle(w, 2);
  assert.equal(__find_vcpu_for_floating_irq(w, vm)!.vcpu_idx, 2);
  applyStep(w, { kind: 'resume', vm: 0, vcpu: 2 }); // not runnable: still asleep, still the last sleeper
  assert.equal(__find_vcpu_for_floating_irq(w, vm)!.vcpu_idx, 2);
});

test('no online vCPU: nobody to kick', () => {
  const { w, vm } = vm3();
  vm.online_vcpus = 0;
  assert.equal(__find_vcpu_for_floating_irq(w, vm), undefined);
});
