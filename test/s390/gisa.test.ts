import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EBUSY } from '../../src/s390/errno.ts';
import {
  gisa_clear_ipm,
  gisa_get_ipm_or_restore_iam,
  gisa_in_alert_list,
  gisa_set_iam,
  gisa_tac_ipm_gisc,
  kvm_s390_gisa_init,
} from '../../src/s390/gisa.ts';
import { firmware_ai } from '../../src/s390/millicode.ts';
import { setupWorld } from '../../src/s390/vm.ts';
import { createVmRecord, createWorld } from '../../src/s390/world.ts';

const oneVm = (gisc: number[] = [6]) => {
  const w = setupWorld({}, [{ name: 'a', vcpu_ids: [0], gisc }]);
  return { w, vm: w.vms[0]! };
};

test('gisa_init: next_alert points at the GISA itself, IPM/IAM zero, ref_count left alone', () => {
  const w = createWorld();
  const vm = createVmRecord('a', 0, [0]);
  vm.gi.ref_count[3] = 2; // the kernel relies on a zeroed struct kvm and does not reset it
  kvm_s390_gisa_init(w, vm);
  assert.equal(vm.gi.origin, vm.gisa_addr);
  assert.equal(vm.gisa.next_alert, vm.gisa_addr);
  assert.deepEqual([vm.gisa.ipm, vm.gisa.iam, vm.gi.mask], [0, 0, 0]);
  assert.equal(vm.gi.ref_count[3], 2);
  assert.equal(gisa_in_alert_list(vm), false);
});

test('gisa_init without AIV leaves origin NULL', () => {
  const w = createWorld({ aiv: false });
  const vm = createVmRecord('a', 0, [0]);
  kvm_s390_gisa_init(w, vm);
  assert.equal(vm.gi.origin, 0);
});

test('gisa_set_iam writes the IAM when not listed and refuses with -EBUSY when listed', () => {
  const { w, vm } = oneVm();
  assert.equal(gisa_set_iam(w, vm, 0x41, 'test'), 0);
  assert.equal(vm.gisa.iam, 0x41);
  vm.gisa.iam = 0x02;
  firmware_ai(w, vm, 6); // no vCPU in SIE: millicode lists the GISA and clears the IAM
  assert.equal(gisa_in_alert_list(vm), true);
  assert.equal(gisa_set_iam(w, vm, 0x02, 'test'), -EBUSY);
  assert.equal(vm.gisa.iam, 0);
});

test('gisa_get_ipm_or_restore_iam ignores unregistered ISCs and does not look at list membership', () => {
  const { w, vm } = oneVm([6]);
  firmware_ai(w, vm, 6);
  vm.gisa.ipm = 0x10; // ISC 3 pending, not registered
  assert.equal(gisa_in_alert_list(vm), true);
  assert.equal(gisa_get_ipm_or_restore_iam(w, vm, 'test'), 0);
  assert.equal(vm.gisa.iam, 0x02);
});

test('gisa_clear_ipm clears only the IPM; gisa_tac_ipm_gisc reports and clears one bit', () => {
  const { w, vm } = oneVm();
  firmware_ai(w, vm, 6);
  const next = vm.gisa.next_alert;
  vm.gisa.ipm = 0x12;
  gisa_clear_ipm(vm);
  assert.deepEqual([vm.gisa.ipm, vm.gisa.iam, vm.gisa.next_alert], [0, 0, next]);
  vm.gisa.ipm = 0x12;
  assert.equal(gisa_tac_ipm_gisc(vm, 3), true);
  assert.equal(gisa_tac_ipm_gisc(vm, 3), false);
  assert.equal(vm.gisa.ipm, 0x02);
});
