// x86-apf §8.7 (guest side, the legacy guest ≤5.7 of §5.3): cases 76–79 on the host model, eras 4.19 and
// 6.17, plus the legacy enablement decision. Where a case needs an event the host would not produce in
// that context (a #PF into the idle task), the test plays the host's part by hand.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KVM_MP_STATE_HALTED } from '../../../../src/abi/kvm.ts';
import { PF_VECTOR } from '../../../../src/abi/kvm_host.ts';
import {
  KVM_FEATURE_ASYNC_PF,
  KVM_FEATURE_ASYNC_PF_INT,
  KVM_FEATURE_ASYNC_PF_VMEXIT,
} from '../../../../src/abi/kvm_para.ts';
import type { TaskAction } from '../../../../src/guest/x86/linux/program.ts';
import { RESCHEDULE_VECTOR } from '../../../../src/guest/x86/linux/scheduler.ts';
import { cpuNode, forEachSleepNode } from '../../../../src/guest/x86/linux/sleep_table.ts';
import {
  GSTEP_HALT,
  TASK_EXITED,
  TASK_RUNNABLE,
  TASK_SLEEPING,
} from '../../../../src/guest/x86/linux/state.ts';
import { kvm_queue_exception_e_p } from '../../../../src/host/x86/exception.ts';
import { apic_irr_test } from '../../../../src/host/x86/lapic.ts';
import { kvm_vcpu_kick } from '../../../../src/host/x86/vm.ts';
import { host_page_evict } from '../../../../src/mem/page_state.ts';
import { computeForever, FEATURES_ALL, type HarnessOptions, LinuxHarness } from './test_harness.ts';

/** What a 4.19 host lets the guest see: everything but KVM_FEATURE_ASYNC_PF_INT (5.8). */
const FEATURES_4_19 = FEATURES_ALL & ~(1 << KVM_FEATURE_ASYNC_PF_INT);
const PAGE = 0x300000;

function legacy(o: HarnessOptions = {}): LinuxHarness {
  return new LinuxHarness({
    era: '4.19',
    kvm_features: FEATURES_4_19,
    ...o,
    guest: { kind: 'linux-4.19', ...o.guest },
  });
}

/** [token, cpu, node (-1 for a dummy), halted] of every hashed node. */
const nodesOf = (h: LinuxHarness): number[][] => {
  const s = h.state.sleepers;
  const out: number[][] = [];
  forEachSleepNode(s, (_b, n) => out.push([s.token[n]!, s.cpu[n]!, n < s.firstDummy ? n : -1, s.halted[n]!]));
  return out.sort((a, b) => a[0]! - b[0]!);
};

const pfs = (h: LinuxHarness): string[] =>
  h.eventsOf('#PF').map((e) => (e.event === '#PF' ? `${e.cr2}/${e.flags}` : ''));

test('x86-apf §5.3: the legacy guest enables from KVM_FEATURE_ASYNC_PF alone: EN = pa | ENABLED [| PF_VMEXIT], no INT', () => {
  const h = legacy();
  h.boot();
  const v = h.vcpu();
  assert.equal(h.state.sysvec_installed, false, 'no 0xf3 handler');
  assert.equal(
    v.apf.msr_en_val,
    0x10000n | 0x5n,
    'ENABLED | DELIVERY_AS_PF_VMEXIT; no SEND_ALWAYS, no bit 3',
  );
  assert.equal(v.apf.msr_int_val, 0n, 'no INT MSR');
  assert.equal(h.vm.mem.readU32(h.area() + 64), 1, 'apf_reason.enabled');
  // The boot wakeup-all arrives as a #PF with reason 2 and CR2 = ~0.
  assert.deepEqual(pfs(h), ['0xffffffff/0x2']);
  assert.equal(h.state.counters.pageReadyFaults, 1);

  const noVmexit = legacy({ kvm_features: FEATURES_4_19 & ~(1 << KVM_FEATURE_ASYNC_PF_VMEXIT) });
  noVmexit.boot();
  assert.equal(noVmexit.vcpu().apf.msr_en_val, 0x10000n | 0x1n);
  const onlyAsyncPf = legacy({ kvm_features: 1 << KVM_FEATURE_ASYNC_PF });
  onlyAsyncPf.boot();
  assert.equal(onlyAsyncPf.vcpu().apf.msr_en_val, 0x10000n | 0x1n, 'a ≥5.8 guest would not enable here');
  for (const off of [
    legacy({ kvm_features: FEATURES_4_19 & ~(1 << KVM_FEATURE_ASYNC_PF) }),
    legacy({ guest: { no_kvmapf: true } }),
  ]) {
    off.boot();
    assert.equal(off.vcpu().apf.msr_en_val, 0n);
    assert.equal(off.state.kvm_async_pf_enabled, false);
  }
});

test('x86-apf §5.3: reason 0 is a normal page fault; reason 1 from user mode sleeps by scheduling', () => {
  const h = legacy({ program: computeForever, nTasks: 2 });
  h.runUntil(() => h.inUser(0, 0));
  h.injectPageFault(0, 0x1234, 0);
  h.step();
  h.step();
  assert.equal(h.state.counters.normalPageFaults, 1);
  assert.ok(h.inUser(0, 0));
  h.sleepOn(0, 0, 0x1000);
  assert.deepEqual(nodesOf(h), [[0x1000, 0, 0, 0]], 'a scheduling (not halted) waiter');
  assert.equal(h.state.task.state[0], TASK_SLEEPING);
  assert.equal(h.state.cpu.curr[0], 1, 'the other task runs');
  assert.equal(h.vm.mem.readU32(h.area()), 0, 'reason read and cleared');
});

// x86-apf §8 case 76
test('x86-apf §8 case 76: #PF with reason 2 and CR2 = ~0 wakes all sleepers (and dummies) of this CPU only', () => {
  const h = legacy({ vcpus: 2, program: computeForever, nTasks: 3, taskCpus: [0, 0, 1] });
  // CPU 1's boot wakeup-all waits on `done` for its next entry (≤5.7 polls at entry): let it through.
  h.runUntil(() => h.inUser(1, 2), 1);
  h.exit(1);
  h.runUntil(() => h.state.counters.pageReadyFaults === 1, 1);
  h.sleepOn(0, 0, 0x1000);
  h.sleepOn(0, 1, 0x2000);
  h.sleepOn(1, 2, 0x3001);
  h.injectLegacyPageReady(0, 0x4000); // no waiter: a dummy on CPU 0
  h.run(0);
  h.injectLegacyPageReady(1, 0x4001); // a dummy on CPU 1
  h.run(1);
  assert.equal(nodesOf(h).length, 5);
  h.injectLegacyPageReady(0, 0xffffffff);
  h.step(0);
  h.step(0);
  assert.deepEqual(nodesOf(h), [
    [0x3001, 1, 2, 0],
    [0x4001, 1, -1, 0],
  ]);
  assert.equal(h.state.task.state[0], TASK_RUNNABLE);
  assert.equal(h.state.task.state[1], TASK_RUNNABLE);
  assert.equal(h.state.task.state[2], TASK_SLEEPING);
  assert.equal(h.state.sleepers.dummiesCreated, 2, 'no dummy for ~0');
  assert.equal(h.state.sleepers.dummiesLeaked, 1, 'the CPU 0 dummy is unlinked, not freed');
  assert.equal(h.vm.mem.readU32(h.area(0)), 0, 'reason cleared');
});

// x86-apf §8 case 77
test('x86-apf §8 case 77: reason 1 in the idle task: a halted wait (sti; hlt) until the wake, which sends a reschedule IPI', () => {
  const h = legacy();
  h.boot();
  const st = h.state;
  const v = h.vcpu();
  h.injectPageFault(0, 0x1000);
  h.step(); // delivery + kvm_read_and_reset_pf_reason
  h.step(); // kvm_async_pf_task_wait: is_idle_task → halted
  const idle = cpuNode(st.sleepers, 0);
  assert.deepEqual(nodesOf(h), [[0x1000, 0, idle, 1]]);
  assert.equal(st.cpu.haltNode[0], idle);
  assert.equal(st.counters.haltedApfWaits, 1);
  h.step(); // native_safe_halt
  assert.equal(h.vm.effects.kind, GSTEP_HALT);
  assert.equal(v.rflags_if, true, 'sti; hlt');
  assert.equal(v.mp_state, KVM_MP_STATE_HALTED);
  assert.equal(h.run(), 0, 'blocked: nothing wakes it but an event');
  // The 'page ready' #PF (reason 2) arrives in the HLT: the wake unhashes the node and IPIs CPU 0.
  h.injectLegacyPageReady(0, 0x1000);
  h.step();
  h.step();
  assert.deepEqual(nodesOf(h), []);
  assert.equal(apic_irr_test(v.apic, RESCHEDULE_VECTOR), true, 'smp_send_reschedule(n->cpu)');
  assert.equal(st.cpu.haltNode[0], idle, 'still in the loop until the next pass');
  h.run();
  assert.equal(st.cpu.haltNode[0], -1, 'the halted wait returned');
  assert.equal(st.cpu.reschedIpis[0], 1);
  assert.equal(st.counters.asyncPfSleeps, 0, 'the idle task never scheduled');
  assert.equal(st.panicked, -1, 'no kernel-mode panic in the legacy guest');
});

// x86-apf §8 case 77
test('x86-apf §8 case 77: the wake of a halted waiter on another CPU IPIs that CPU', () => {
  const h = legacy({ vcpus: 2 });
  h.boot(0);
  h.boot(1);
  h.injectPageFault(1, 0x1001);
  h.run(1);
  assert.equal(h.state.cpu.haltNode[1], cpuNode(h.state.sleepers, 1));
  h.injectLegacyPageReady(0, 0x1001); // the wake runs on CPU 0
  h.step(0);
  h.step(0);
  assert.equal(apic_irr_test(h.vcpu(1).apic, RESCHEDULE_VECTOR), true);
  assert.equal(apic_irr_test(h.vcpu(0).apic, RESCHEDULE_VECTOR), false);
  h.run(1);
  assert.equal(h.state.cpu.haltNode[1], -1);
  assert.equal(h.state.cpu.reschedIpis[1], 1);
});

const atomicThenCompute = (mode: TaskAction & { kind: 'touch' }): TaskAction[][] => [
  [mode],
  [
    { kind: 'compute', ns: 10 },
    { kind: 'compute', ns: 10 },
  ],
];

// x86-apf §8 case 77 (atomic context) and case 78 (guest side, CONFIG_PREEMPT)
test('x86-apf §8 case 77: a PREEMPT guest faulting in atomic context waits halted; nothing else runs on the CPU', () => {
  const h = legacy({
    guest: { preempt: true },
    tasks: atomicThenCompute({ kind: 'touch', gpa: PAGE, write: true, mode: 'atomic' }),
  });
  host_page_evict(h.vm.mem.pageState, PAGE / 4096);
  const st = h.state;
  h.run();
  assert.equal(h.vcpu().apf.msr_en_val, 0x10000n | 0x7n, 'SEND_ALWAYS with CONFIG_PREEMPT');
  assert.deepEqual(pfs(h), ['0xffffffff/0x2', '0x1000/0x1'], "'not present' injected at CPL 0");
  assert.deepEqual(nodesOf(h), [[0x1000, 0, 0, 1]]);
  assert.equal(st.cpu.haltNode[0], 0);
  assert.equal(st.cpu.curr[0], 0, 'the faulting task stays current');
  assert.equal(st.task.bursts[1], 0, 'the CPU cannot schedule');
  h.completeWorks();
  h.run();
  assert.deepEqual(pfs(h).slice(2), ['0x1000/0x2']);
  assert.equal(st.counters.haltedApfWaits, 1);
  assert.equal(st.counters.asyncPfSleeps, 0);
  assert.equal(st.task.state[0], TASK_EXITED);
  assert.equal(st.task.state[1], TASK_EXITED);
  assert.equal(st.cpu.reschedIpis[0], 1);
});

// x86-apf §8 case 78 (guest side)
test('x86-apf §8 case 78: a PREEMPT guest faulting in preemptible kernel code sleeps by scheduling; another task runs', () => {
  const h = legacy({
    guest: { preempt: true },
    tasks: atomicThenCompute({ kind: 'touch', gpa: PAGE, write: true, mode: 'kernel' }),
  });
  host_page_evict(h.vm.mem.pageState, PAGE / 4096);
  const st = h.state;
  h.run();
  assert.deepEqual(nodesOf(h), [[0x1000, 0, 0, 0]]);
  assert.equal(st.task.state[0], TASK_SLEEPING);
  assert.equal(st.task.state[1], TASK_EXITED, 'the other task ran meanwhile');
  h.completeWorks();
  h.run();
  assert.equal(st.task.state[0], TASK_EXITED);
  assert.equal(st.counters.asyncPfSleeps, 1);
  assert.equal(st.panicked, -1);
});

// x86-apf §8 case 78
test('x86-apf §8 case 78: a non-PREEMPT guest writes EN = pa | 0x1 (no SEND_ALWAYS): the 4.19 host halts at CPL 0, injects at CPL 3', () => {
  const h = legacy({
    kvm_features: 1 << KVM_FEATURE_ASYNC_PF,
    tasks: [
      [
        { kind: 'touch', gpa: PAGE, write: true, mode: 'kernel' },
        { kind: 'touch', gpa: PAGE + 0x1000, write: true },
      ],
    ],
  });
  host_page_evict(h.vm.mem.pageState, PAGE / 4096);
  host_page_evict(h.vm.mem.pageState, PAGE / 4096 + 1);
  const st = h.state;
  const v = h.vcpu();
  h.run();
  assert.equal(v.apf.msr_en_val, 0x10000n | 0x1n);
  assert.equal(v.apf.halted, true, 'the CPL 0 fault: an artificial halt');
  assert.deepEqual(pfs(h), ['0xffffffff/0x2']);
  h.completeWorks();
  h.run();
  // The 4.19 host sends 'page ready' for the halt-path work too (case 50): a dummy nobody consumes.
  // Then the user access: 'not present' and 'page ready' as #PFs, a scheduling wait.
  h.completeWorks();
  h.run();
  assert.deepEqual(pfs(h), ['0xffffffff/0x2', '0x1000/0x2', '0x2000/0x1', '0x2000/0x2']);
  assert.deepEqual(nodesOf(h), [[0x1000, 0, -1, 0]], 'the dummy of the halt-path token');
  assert.equal(st.counters.asyncPfSleeps, 1);
  assert.equal(st.task.state[0], TASK_EXITED);
});

// x86-apf §8 case 79
test('x86-apf §8 case 79: a 4.19 guest on a 6.17 host: EN = pa | 0x5 accepted, pv disabled, only artificial halts', () => {
  const h = legacy({
    era: '6.17',
    kvm_features: FEATURES_ALL,
    tasks: [[{ kind: 'touch', gpa: PAGE, write: true }]],
  });
  host_page_evict(h.vm.mem.pageState, PAGE / 4096);
  const v = h.vcpu();
  h.run();
  assert.equal(v.apf.msr_en_val, 0x10000n | 0x5n, 'RDMSR returns what the guest wrote');
  assert.equal(v.apf.halted, true);
  h.completeWorks();
  h.run();
  assert.equal(h.state.task.state[0], TASK_EXITED);
  assert.deepEqual(h.events, [], 'no wakeup-all, no #PF, no interrupt');
  assert.equal(h.state.counters.asyncPfSleeps + h.state.counters.haltedApfWaits, 0);
  assert.equal(v.stat.apf_halts, 1);
});

// x86-apf §4.7 / §5.3: the legacy L1 hypervisor
test('x86-apf §5.3: a legacy L1 sleeps its vCPU thread on a #PF VM-exit (reason 1) and wakes it on one with reason 2', () => {
  const h = legacy({ tasks: [[{ kind: 'touch', gpa: PAGE, write: true, mode: 'l2' }]] });
  host_page_evict(h.vm.mem.pageState, PAGE / 4096);
  const st = h.state;
  h.run();
  assert.equal(st.counters.nestedApfSleeps, 1, "L0's 'not present' reached L1 as a #PF VM-exit");
  assert.equal(st.task.state[0], TASK_SLEEPING);
  assert.deepEqual(nodesOf(h), [[0x1000, 0, 0, 0]]);
  // 4.19 L0 delivers a 'page ready' that finds the vCPU in L2 as a #PF VM-exit too (nested_apf).
  const v = h.vcpu();
  v.guest_mode = true;
  h.vm.mem.writeU32(h.area(), 2);
  kvm_queue_exception_e_p(v, PF_VECTOR, 0, 0x1000, true);
  kvm_vcpu_kick(h.vm, v);
  h.step();
  h.step();
  assert.deepEqual(nodesOf(h), []);
  assert.equal(st.task.state[0], TASK_RUNNABLE);
  assert.equal(st.counters.pageReadyFaults, 2, 'the boot wakeup-all, then this one');
  assert.equal(st.counters.warnings, 0, 'no "Unexpected host async PF flags" in the legacy guest');
});
