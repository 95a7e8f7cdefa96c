import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CPUSTAT_IO_INT, KVM_S390_FLIC_MAX_BUFFER, KVM_S390_IRQ_SIZE } from '../../src/abi/s390_gisa.ts';
import {
  get_all_floating_irqs,
  kvm_s390_deliver_pending_interrupts,
  kvm_s390_get_io_int,
} from '../../src/s390/deliver.ts';
import { EBUSY, EINVAL } from '../../src/s390/errno.ts';
import { __inject_io, type IoInject, kvm_s390_inject_vm } from '../../src/s390/float_irq.ts';
import { applyStep } from '../../src/s390/steps.ts';
import type { S390ConfigInput } from '../../src/s390/strategy.ts';
import { setupWorld } from '../../src/s390/vm.ts';

const io = (isc: number, ai: boolean, schid = 0): IoInject => ({
  ai,
  isc,
  subchannel_id: schid >>> 16,
  subchannel_nr: schid & 0xffff,
  io_int_parm: 0,
});

const vm1 = (cfg: S390ConfigInput = {}, ids = [0]) => {
  const w = setupWorld(cfg, [{ name: 'a', vcpu_ids: ids }]);
  return { w, vm: w.vms[0]!, v: w.vms[0]!.vcpus[0]! };
};

test('one I/O interruption per delivery pass; classic work left asks for an I/O intercept', () => {
  const { w, vm, v } = vm1();
  __inject_io(w, vm, io(2, false));
  __inject_io(w, vm, io(4, false));
  assert.equal(kvm_s390_deliver_pending_interrupts(w, vm, v), 'classic');
  assert.equal(vm.fi.pending, 0x08);
  assert.ok(v.cpuflags & CPUSTAT_IO_INT);
  assert.equal(kvm_s390_deliver_pending_interrupts(w, vm, v), 'classic');
  assert.equal(v.cpuflags & CPUSTAT_IO_INT, 0);
});

test('I/O disabled in the PSW or the ISC masked in CR6: nothing is delivered', () => {
  const { w, vm, v } = vm1();
  __inject_io(w, vm, io(3, true));
  v.cr6 = 0x80;
  assert.equal(kvm_s390_deliver_pending_interrupts(w, vm, v), 'none');
  v.cr6 = 0xff;
  v.psw_io = false;
  assert.equal(kvm_s390_deliver_pending_interrupts(w, vm, v), 'none');
  assert.equal(vm.gisa.ipm, 0x10);
});

test('the classic list is bounded by KVM_S390_MAX_FLOAT_IRQS (-EBUSY, no kick); GISA AIs are not', () => {
  const { w, vm } = vm1({ max_float_irqs: 1 });
  assert.equal(kvm_s390_inject_vm(w, vm, io(1, false)), 0);
  w.events.length = 0;
  assert.equal(kvm_s390_inject_vm(w, vm, io(1, false)), -EBUSY);
  assert.deepEqual(w.events, []);
  assert.equal(kvm_s390_inject_vm(w, vm, io(1, true)), 0);
  assert.equal(vm.fi.io_counter, 1);
});

test('TPI with a subchannel id only matches that subchannel and never takes from the GISA', () => {
  const { w, vm } = vm1();
  __inject_io(w, vm, io(2, false, 0x00010002));
  __inject_io(w, vm, io(2, false, 0x00010003));
  __inject_io(w, vm, io(0, true));
  const r = kvm_s390_get_io_int(w, vm, 0xff, 0x00010003);
  assert.ok(r.kind === 'classic');
  assert.equal(r.entry.subchannel_nr, 3);
  assert.equal(vm.gisa.ipm, 0x80);
  assert.equal(vm.fi.lists[2]!.length, 1);
});

test('TPI: when the synthetic AI cannot be allocated the IPM bit is put back and the classic one returned', () => {
  const { w, vm } = vm1();
  __inject_io(w, vm, io(5, false));
  __inject_io(w, vm, io(2, true));
  const r = kvm_s390_get_io_int(w, vm, 0xff, 0, true);
  assert.ok(r.kind === 'classic');
  assert.equal(vm.gisa.ipm, 0x20);
});

test('TPI honours the ISC mask', () => {
  const { w, vm } = vm1();
  __inject_io(w, vm, io(2, true));
  assert.deepEqual(kvm_s390_get_io_int(w, vm, 0x80, 0), { kind: 'none' });
  assert.deepEqual(kvm_s390_get_io_int(w, vm, 0x20, 0), { kind: 'ai', isc: 2 });
});

test('migration read: -EINVAL for len 0 or above the FLIC maximum; IPM then classic records', () => {
  const { w, vm } = vm1();
  assert.equal(get_all_floating_irqs(vm, 0).rc, -EINVAL);
  assert.equal(get_all_floating_irqs(vm, KVM_S390_FLIC_MAX_BUFFER + 1).rc, -EINVAL);
  __inject_io(w, vm, io(7, true));
  __inject_io(w, vm, io(1, false));
  const r = get_all_floating_irqs(vm, 2 * KVM_S390_IRQ_SIZE);
  assert.equal(r.rc, 2);
  assert.deepEqual(
    r.irqs.map((i) => [i.type, i.io_int_word]),
    [
      ['io_ai', 0xb8000000],
      ['io', 0x08000000],
    ],
  );
  assert.equal(vm.gisa.ipm, 0);
  assert.equal(vm.fi.lists[1]!.length, 1, 'classic entries are only read');
});

test('deliver is a host-side step: refused while the vCPU is in SIE', () => {
  const { w } = vm1();
  applyStep(w, { kind: 'enter_sie', vm: 0, vcpu: 0 });
  assert.equal(applyStep(w, { kind: 'deliver', vm: 0, vcpu: 0 }).result, 'invalid');
});
