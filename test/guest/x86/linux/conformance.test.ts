// x86-apf §8.6 (guest side, Linux ≥5.8): cases 61–73 on the host model (era 6.18), driving the host run
// loop step by step. Where a case needs an event the 5.8+ host cannot produce in that order (a page-ready
// before its #PF, flags = 2), the test plays the host's part by hand (injectPageFault / injectPageReady).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APIC_SPIV_APIC_ENABLED } from '../../../../src/abi/apicdef.ts';
import { HYPERVISOR_CALLBACK_VECTOR } from '../../../../src/abi/kvm_host.ts';
import {
  KVM_ASYNC_PF_SEND_ALWAYS,
  KVM_FEATURE_ASYNC_PF,
  KVM_FEATURE_ASYNC_PF_INT,
} from '../../../../src/abi/kvm_para.ts';
import { cpuApfEnabled } from '../../../../src/guest/x86/linux/pf_hook.ts';
import { forEachSleepNode } from '../../../../src/guest/x86/linux/sleep_table.ts';
import {
  GSTEP_KERNEL,
  IRQ_ACK,
  IRQ_CLEAR_TOKEN,
  IRQ_NONE,
  IRQ_READ_TOKEN,
  IRQ_STAT,
  IRQ_WAKE,
  KPC_APF_WAIT,
  PF_HANDLE,
  TASK_RUNNABLE,
  TASK_SLEEPING,
} from '../../../../src/guest/x86/linux/state.ts';
import { apic_irr_test } from '../../../../src/host/x86/lapic.ts';
import { host_page_evict } from '../../../../src/mem/page_state.ts';
import { computeForever, FEATURES_ALL, LinuxHarness } from './test_harness.ts';

const nodesOf = (h: LinuxHarness): number[][] => {
  const s = h.state.sleepers;
  const out: number[][] = [];
  forEachSleepNode(s, (_b, n) => out.push([s.token[n]!, s.cpu[n]!, n < s.nTaskNodes ? n : -1]));
  return out;
};

function assertNoApf(h: LinuxHarness): void {
  h.boot();
  const v = h.vcpu();
  assert.equal(h.state.kvm_async_pf_enabled, false);
  assert.equal(h.state.sysvec_installed, false);
  assert.equal(v.apf.msr_en_val, 0n, 'no WRMSR to EN');
  assert.equal(v.apf.msr_int_val, 0n, 'no WRMSR to INT');
  assert.equal(v.async_pf.queued, 0, 'no wakeup-all');
  // A stray 0xf3 finds no handler: spurious (EOI only), no ACK.
  h.injectPageReady(0, 0x1000);
  h.run();
  assert.equal(h.state.cpu.spuriousIrqs[0], 1);
  assert.equal(h.state.cpu.irq_hv_callback_count[0], 0);
  assert.deepEqual(h.eventsOf('ack'), []);
}

// x86-apf §8 case 61
test('x86-apf §8 case 61: ASYNC_PF without ASYNC_PF_INT: no enablement, no 0xf3 handler', () => {
  assertNoApf(new LinuxHarness({ kvm_features: (1 << KVM_FEATURE_ASYNC_PF) | 1 }));
  assertNoApf(new LinuxHarness({ kvm_features: FEATURES_ALL & ~(1 << KVM_FEATURE_ASYNC_PF_INT) }));
});

// x86-apf §8 case 62
test('x86-apf §8 case 62: per CPU, WRMSR INT = 0xf3 then EN = pa | 0xD; SEND_ALWAYS never', () => {
  const h = new LinuxHarness({ vcpus: 2, guest: { apf_reason_base: 0x20000, apf_reason_stride: 128 } });
  // Boot CPU: INT, EN, enabled := 1, STI, LAPIC enable.
  const v0 = h.vcpu(0);
  h.step(0);
  assert.equal(v0.apf.msr_int_val, 0xf3n);
  assert.equal(v0.apf.msr_en_val, 0n, 'INT strictly before EN');
  h.step(0);
  assert.equal(v0.apf.msr_en_val, 0x20000n | 0xdn);
  assert.equal(v0.apf.msr_en_val & BigInt(KVM_ASYNC_PF_SEND_ALWAYS), 0n);
  assert.equal(cpuApfEnabled(h.guest, 0), false, 'enabled is set after EN');
  h.step(0);
  assert.equal(cpuApfEnabled(h.guest, 0), true);
  assert.equal(h.vm.mem.readU32(0x20000 + 64), 1, 'apf_reason.enabled at offset 64');
  assert.equal(h.vm.effects.kind, GSTEP_KERNEL);
  // A secondary CPU sets up its LAPIC first, then the same two writes for its own area.
  const v1 = h.vcpu(1);
  h.step(1);
  assert.ok(v1.apic.spiv & APIC_SPIV_APIC_ENABLED);
  assert.equal(v1.apf.msr_int_val, 0n);
  h.step(1);
  assert.equal(v1.apf.msr_int_val, 0xf3n);
  assert.equal(v1.apf.msr_en_val, 0n);
  h.step(1);
  assert.equal(v1.apf.msr_en_val, (0x20000n + 128n) | 0xdn);
});

// x86-apf §8 case 62 (without ASYNC_PF_VMEXIT in CPUID the EN value is pa | 0x9).
test('x86-apf §8 case 62: without KVM_FEATURE_ASYNC_PF_VMEXIT, EN = pa | 0x9', () => {
  const h = new LinuxHarness({ kvm_features: FEATURES_ALL & ~(1 << 10) });
  h.boot();
  assert.equal(h.vcpu().apf.msr_en_val, 0x10000n | 0x9n);
});

// x86-apf §8 case 63
test('x86-apf §8 case 63: no-kvmapf on the command line: no enablement', () => {
  assertNoApf(new LinuxHarness({ guest: { no_kvmapf: true } }));
});

// x86-apf §8 case 64
test('x86-apf §8 case 64: #PF with flags@0 = 0 is a normal page fault; flags stays 0', () => {
  const h = new LinuxHarness({ program: computeForever, nTasks: 1 });
  h.runUntil(() => h.inUser(0, 0));
  h.injectPageFault(0, 0x1234, 0);
  h.step(); // delivery + kvm_read_and_reset_apf_flags
  h.step(); // flags == 0: normal #PF path, return
  assert.equal(h.state.counters.normalPageFaults, 1);
  assert.equal(h.vm.mem.readU32(h.area()), 0);
  assert.ok(h.inUser(0, 0), 'back in user mode, not asleep');
  assert.deepEqual(h.eventsOf('#PF'), [{ event: '#PF', cr2: '0x1234', error_code: '0x0', flags: '0x0' }]);
  assert.deepEqual(nodesOf(h), []);
});

// x86-apf §8 case 65
test('x86-apf §8 case 65: flags@0 = 1 from user mode with IF = 1: flags cleared, task sleeps on CR2', () => {
  const h = new LinuxHarness({ tasks: [[{ kind: 'touch', gpa: 0x300000, write: false }]] });
  host_page_evict(h.vm.mem.pageState, 0x300);
  // Boot, then run the task into its fault: the host writes flags = 1 and queues #PF(CR2 = 0x1000).
  h.runUntil(() => h.state.cpu.excPc[0] === PF_HANDLE);
  assert.equal(h.vm.mem.readU32(h.area()), 0, 'kvm_read_and_reset_apf_flags cleared flags');
  assert.equal(h.state.cpu.excFlags[0], 1);
  h.step();
  assert.deepEqual(nodesOf(h), [[0x1000, 0, 0]]);
  assert.equal(h.state.task.state[0], TASK_SLEEPING);
  assert.equal(h.state.task.kpc[0], KPC_APF_WAIT);
  // It stays asleep (the CPU idles) until the matching wake.
  h.run();
  assert.equal(h.state.task.state[0], TASK_SLEEPING);
  assert.equal(h.state.cpu.curr[0], -1);
  h.completeWorks();
  h.run();
  assert.equal(h.state.task.touches[0], 1);
  assert.deepEqual(nodesOf(h), []);
});

// x86-apf §8 case 66
test('x86-apf §8 case 66: async #PF into an IF = 0 context panics', () => {
  const h = new LinuxHarness({ program: computeForever, nTasks: 1 });
  h.runUntil(() => h.inUser(0, 0));
  h.vcpu().rflags_if = false; // the interrupted context had interrupts off
  h.injectPageFault(0, 0x1000);
  h.step();
  h.step();
  assert.deepEqual(h.eventsOf('guest_panic'), [
    { event: 'guest_panic', reason: 'Host injected async #PF in interrupt disabled region' },
  ]);
  assert.equal(h.state.panicked, 0);
  assert.equal(h.guest.step(h.vcpu()), false, 'a panicked guest executes nothing');
});

// x86-apf §8 case 67
test('x86-apf §8 case 67: async #PF from kernel mode (IF = 1) panics', () => {
  const h = new LinuxHarness();
  h.boot(); // idle in `sti; hlt`: kernel mode, IF = 1
  h.injectPageFault(0, 0x1000);
  h.step();
  h.step();
  assert.deepEqual(h.eventsOf('guest_panic'), [
    { event: 'guest_panic', reason: 'Host injected async #PF in kernel mode' },
  ]);
});

// x86-apf §8 case 68
test('x86-apf §8 case 68: flags@0 = 2: cleared, WARN_ONCE "Unexpected async PF flags: 2", not a normal #PF', () => {
  const h = new LinuxHarness({ program: computeForever, nTasks: 1 });
  h.runUntil(() => h.inUser(0, 0));
  for (let i = 0; i < 2; i++) {
    h.injectPageFault(0, 0x1000, 2);
    h.step();
    h.step();
    assert.equal(h.vm.mem.readU32(h.area()), 0);
    assert.ok(h.inUser(0, 0));
  }
  assert.deepEqual(
    h.eventsOf('warning'),
    [{ event: 'warning', message: 'Unexpected async PF flags: 2' }],
    'once',
  );
  assert.equal(h.state.counters.normalPageFaults, 0);
  assert.equal(h.state.counters.asyncPfSleeps, 0);
});

// x86-apf §8 case 69
test('x86-apf §8 case 69: IRQ 0xf3 with a sleeper: EOI; wake; token := 0; ACK, in that order', () => {
  const h = new LinuxHarness({ tasks: [[{ kind: 'touch', gpa: 0x300000, write: true }]] });
  host_page_evict(h.vm.mem.pageState, 0x300);
  h.run();
  assert.equal(h.state.task.state[0], TASK_SLEEPING);
  h.completeWorks();
  const v = h.vcpu();
  const st = h.state;
  h.step(); // APF_READY: token written, IRQ injected; the handler's first instruction (EOI) runs
  assert.equal(st.cpu.irqPc[0], IRQ_STAT);
  assert.equal(
    v.apic.isr[HYPERVISOR_CALLBACK_VECTOR >>> 5]! & (1 << (HYPERVISOR_CALLBACK_VECTOR & 31)),
    0,
    'EOI',
  );
  const hyp = st.cpu.irq_hv_callback_count[0]!;
  h.step();
  assert.equal(st.cpu.irq_hv_callback_count[0], hyp + 1);
  assert.equal(st.cpu.irqPc[0], IRQ_READ_TOKEN);
  h.step();
  assert.equal(st.cpu.irqToken[0], 0x1000);
  assert.equal(st.cpu.irqPc[0], IRQ_WAKE);
  h.step();
  assert.equal(st.task.state[0], TASK_RUNNABLE, 'woken');
  assert.deepEqual(nodesOf(h), []);
  assert.equal(h.vm.mem.readU32(h.area() + 4), 0x1000, 'token not yet cleared');
  assert.equal(st.cpu.irqPc[0], IRQ_CLEAR_TOKEN);
  h.step();
  assert.equal(h.vm.mem.readU32(h.area() + 4), 0);
  assert.equal(v.apf.pageready_pending, true, 'no ACK yet');
  assert.equal(st.cpu.irqPc[0], IRQ_ACK);
  h.step();
  assert.equal(v.apf.pageready_pending, false, 'ACK written');
  assert.equal(st.cpu.irqPc[0], IRQ_NONE);
  assert.deepEqual(h.events.slice(-2), [
    { event: 'irq', vector: '0xf3', token: '0x1000', flags: '0x0' },
    { event: 'ack', value: '0x1', result: 'ok' },
  ]);
});

// x86-apf §8 case 70
test('x86-apf §8 case 70: page-ready with no sleeper inserts a dummy; the later #PF consumes it, no sleep', () => {
  const h = new LinuxHarness({ program: computeForever, nTasks: 1 });
  h.runUntil(() => h.inUser(0, 0));
  h.injectPageReady(0, 0x2000);
  h.runUntil(() => h.state.cpu.irqPc[0] === IRQ_NONE && h.eventsOf('ack').length === 2);
  assert.deepEqual(nodesOf(h), [[0x2000, 0, -1]]);
  assert.equal(h.vm.mem.readU32(h.area() + 4), 0, 'token := 0');
  assert.equal(h.state.sleepers.dummiesCreated, 1);
  h.injectPageFault(0, 0x2000);
  h.step();
  h.step();
  assert.deepEqual(nodesOf(h), [], 'dummy removed and freed');
  assert.equal(h.state.sleepers.dummiesConsumed, 1);
  assert.equal(h.state.task.state[0], 2 /* TASK_RUNNING */);
  assert.ok(h.inUser(0, 0), 'returned at once');
  assert.equal(h.state.counters.asyncPfSleeps, 0);
});

// x86-apf §8 case 71
test('x86-apf §8 case 71: token 0xffffffff wakes all sleepers and dummies of this CPU only', () => {
  const h = new LinuxHarness({ vcpus: 2, program: computeForever, nTasks: 3, taskCpus: [0, 0, 1] });
  h.sleepOn(0, 0, 0x1000);
  h.sleepOn(0, 1, 0x2000);
  h.sleepOn(1, 2, 0x3001);
  h.injectPageReady(0, 0x4000); // dummy on CPU 0
  h.run(0);
  h.injectPageReady(1, 0x4001); // dummy on CPU 1
  h.run(1);
  assert.equal(nodesOf(h).length, 5);
  assert.equal(h.state.sleepers.dummiesCreated, 2);
  h.injectPageReady(0, 0xffffffff);
  h.runUntil(() => h.state.cpu.irqPc[0] !== IRQ_NONE, 0);
  h.runUntil(() => h.state.cpu.irqPc[0] === IRQ_NONE, 0);
  assert.deepEqual(
    nodesOf(h).sort((a, b) => a[0]! - b[0]!),
    [
      [0x3001, 1, 2],
      [0x4001, 1, -1],
    ],
  );
  assert.equal(h.state.task.state[0], TASK_RUNNABLE);
  assert.equal(h.state.task.state[1], TASK_RUNNABLE);
  assert.equal(h.state.task.state[2], TASK_SLEEPING);
  assert.equal(h.state.sleepers.dummiesCreated, 2, 'no dummy for ~0');
  assert.equal(h.state.sleepers.dummiesLeaked, 1, 'the CPU 0 dummy is unlinked, not freed');
});

// x86-apf §8 case 72
for (const layout of ['apf_reason', 'percpu'] as const) {
  test(`x86-apf §8 case 72: IRQ 0xf3 while this CPU's enabled = 0: EOI only (${layout})`, () => {
    const h = new LinuxHarness({ guest: { enabled_flag: layout } });
    h.boot();
    if (layout === 'apf_reason') h.vm.mem.writeU32(h.area() + 64, 0);
    else h.state.cpu.percpuEnabled[0] = 0;
    const acks = h.eventsOf('ack').length;
    const hyp = h.state.cpu.irq_hv_callback_count[0]!;
    h.injectPageReady(0, 0x1000);
    h.step(); // delivery + EOI
    assert.equal(apic_irr_test(h.vcpu().apic, HYPERVISOR_CALLBACK_VECTOR), false);
    h.step(); // irq_hv_callback_count++, enabled = 0: return
    assert.equal(h.state.cpu.irqPc[0], IRQ_NONE);
    assert.equal(h.state.cpu.irq_hv_callback_count[0], hyp + 1);
    assert.equal(h.vm.mem.readU32(h.area() + 4), 0x1000, 'token neither read nor cleared');
    assert.equal(h.eventsOf('ack').length, acks, 'no ACK');
    assert.equal(h.vcpu().apf.pageready_pending, true);
    assert.deepEqual(nodesOf(h), []);
  });
}

// x86-apf §8 case 73
test('x86-apf §8 case 73: CPU offline: EN := 0, enabled := 0, wake-all for this CPU', () => {
  const h = new LinuxHarness({ vcpus: 2, program: computeForever, nTasks: 2, taskCpus: [0, 1] });
  h.sleepOn(1, 1, 0x2001);
  h.sleepOn(0, 0, 0x1000);
  h.guest.requestCpuOffline(1, false);
  h.run(1);
  const v1 = h.vcpu(1);
  assert.equal(v1.apf.msr_en_val, 0n);
  assert.equal(cpuApfEnabled(h.guest, 1), false);
  assert.equal(h.state.cpu.online[1], 0);
  assert.equal(v1.rflags_if, false, 'parked in cli; hlt');
  assert.deepEqual(nodesOf(h), [[0x1000, 0, 0]], 'only CPU 1’s sleeper was released');
  assert.equal(h.state.task.state[1], TASK_RUNNABLE);
  assert.equal(h.state.task.cpu[1], 0, 'migrated to an online CPU');
  // CPU 0 gets the reschedule IPI and runs the released task.
  h.runUntil(() => h.state.cpu.curr[0] === 1 && h.state.cpu.reschedIpis[0] === 1, 0);
  assert.equal(cpuApfEnabled(h.guest, 0), true, 'CPU 0 untouched');
});

// x86-apf §8 case 73
test('x86-apf §8 case 73: shutdown (reboot/crash): EN := 0, enabled := 0, but no wake-all', () => {
  const h = new LinuxHarness({ vcpus: 2, program: computeForever, nTasks: 1, taskCpus: [1] });
  h.sleepOn(1, 0, 0x2001);
  h.guest.requestCpuOffline(1, true);
  h.run(1);
  assert.equal(h.vcpu(1).apf.msr_en_val, 0n);
  assert.equal(cpuApfEnabled(h.guest, 1), false);
  assert.deepEqual(nodesOf(h), [[0x2001, 1, 0]]);
  assert.equal(h.state.task.state[0], TASK_SLEEPING);
});
