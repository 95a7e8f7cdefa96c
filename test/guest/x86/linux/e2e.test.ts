// End-to-end: the Linux guest on the host model of era 6.18, driven by the host run loop
// (kvm_vcpu_run_step) and the async workers (async_pf_execute), from boot to a completed fault.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachSleepNode } from '../../../../src/guest/x86/linux/sleep_table.ts';
import {
  GSTEP_COMPUTE,
  GSTEP_HALT,
  GSTEP_TOUCH,
  GSTEP_TOUCH_FIXED,
  KPC_NESTED_APF_WAIT,
  NPF_HANDLE,
  TASK_EXITED,
  TASK_RUNNABLE,
  TASK_SLEEPING,
} from '../../../../src/guest/x86/linux/state.ts';
import { STEP_BLOCKED, STEP_HALTED } from '../../../../src/host/x86/run_loop.ts';
import { host_page_evict } from '../../../../src/mem/page_state.ts';
import { LinuxHarness } from './test_harness.ts';

const PAGE = 0x300000;
const GFN = PAGE / 4096;

test('e2e: boot → wakeup-all → #PF 0x1000 → sleep, another task, idle → page ready → EOI, wake, clear, ACK → retry', () => {
  const h = new LinuxHarness({
    tasks: [
      [
        { kind: 'touch', gpa: PAGE, write: true },
        { kind: 'compute', ns: 50 },
      ],
      [
        { kind: 'compute', ns: 1000 },
        { kind: 'compute', ns: 2000 },
      ],
    ],
  });
  host_page_evict(h.vm.mem.pageState, GFN); // not resident on the host: the first touch needs I/O
  const st = h.state;
  const v = h.vcpu();

  // Boot: INT, EN (the host queues a wakeup-all), enabled, STI, LAPIC on → the wakeup-all IRQ.
  h.runUntil(() => h.eventsOf('ack').length === 1);
  assert.deepEqual(h.events, [
    { event: 'irq', vector: '0xf3', token: '0xffffffff', flags: '0x0' },
    { event: 'ack', value: '0x1', result: 'ok' },
  ]);
  assert.equal(v.apf.msr_en_val, 0x10000n | 0xdn);

  // Task 0 touches the page at CPL 3 with IF = 1: 'not present' #PF with token 0x1000, flags 1.
  h.runUntil(() => st.task.state[0] === TASK_SLEEPING && st.cpu.curr[0] !== 0);
  assert.deepEqual(h.events[2], { event: '#PF', cr2: '0x1000', error_code: '0x0', flags: '0x1' });
  assert.equal(h.works.length, 1);
  // The other task runs meanwhile, then the idle task halts.
  assert.equal(st.cpu.curr[0], 1);
  h.step();
  assert.equal(h.vm.effects.kind, GSTEP_COMPUTE);
  assert.equal(h.vm.effects.ns, 1000);
  assert.equal(h.run(), 3); // compute; exit (and switch to idle); sti; hlt — then blocked
  assert.equal(st.task.state[1], TASK_EXITED);
  assert.equal(h.vm.effects.kind, GSTEP_HALT);
  assert.equal(h.step(), STEP_BLOCKED);

  // The worker completes: page ready, token 0x1000, then EOI, wake, token := 0, ACK.
  assert.equal(h.completeWorks(), 1);
  h.runUntil(() => st.task.state[0] === TASK_RUNNABLE);
  assert.equal(h.vm.mem.readU32(h.area() + 4), 0x1000);
  h.run();
  assert.deepEqual(h.events.slice(3), [
    { event: 'irq', vector: '0xf3', token: '0x1000', flags: '0x0' },
    { event: 'ack', value: '0x1', result: 'ok' },
  ]);
  // The task retried its access (the host prefaulted the page) and finished.
  assert.equal(st.task.touches[0], 1);
  assert.equal(st.task.bursts[0], 1);
  assert.equal(st.task.state[0], TASK_EXITED);
  assert.equal(st.task.sleeps[0], 1);
  assert.equal(h.vm.mem.readU32(h.area() + 4), 0);
  assert.deepEqual(h.traces, [
    'kvm_async_pf_ready: token 0xffffffff gva 0x0',
    'kvm_try_async_get_page: gva = 0x300000, gfn = 0x300',
    'kvm_async_pf_not_present: token 0x1000 gva 0x300000',
    'kvm_async_pf_completed: gva 0x300000 address 0x7f0000300000',
    'kvm_async_pf_ready: token 0x1000 gva 0x300000',
  ]);
  assert.equal(st.counters.asyncPfSleeps, 1);
  assert.equal(st.sleepers.dummiesCreated, 0);
  assert.ok(st.cpu.contextSwitches[0]! >= 4);
});

test('e2e: a kernel-mode (CPL 0) access gets no #PF: the host halts the vCPU (no SEND_ALWAYS)', () => {
  const h = new LinuxHarness({
    tasks: [[{ kind: 'touch', gpa: PAGE, write: false, mode: 'kernel' }], [{ kind: 'compute', ns: 1 }]],
  });
  host_page_evict(h.vm.mem.pageState, GFN);
  const st = h.state;
  const v = h.vcpu();
  h.runUntil(() => st.task.retries[0] === 1);
  assert.equal(h.step(), STEP_HALTED, 'APF_HALT: the artificial halt');
  assert.equal(v.apf.halted, true);
  assert.equal(h.step(), STEP_BLOCKED, 'the whole vCPU waits; task 1 cannot run');
  assert.equal(st.task.bursts[1], 0);
  assert.equal(h.vm.mem.readU32(h.area()), 0, 'flags not written');
  h.completeWorks();
  h.run();
  assert.deepEqual(h.eventsOf('#PF'), []);
  assert.equal(h.eventsOf('irq').length, 1, 'only the boot wakeup-all: no page-ready for a halt-path work');
  assert.equal(st.task.touches[0], 1);
  assert.equal(st.task.bursts[1], 1);
  assert.equal(v.stat.apf_halts, 1);
});

test('e2e: hlt_in_guest and a CPL 0 access: synchronous fault-in, the vCPU thread blocks in the host', () => {
  const h = new LinuxHarness({
    hlt_in_guest: true,
    tasks: [[{ kind: 'touch', gpa: PAGE, write: true, mode: 'kernel' }]],
  });
  host_page_evict(h.vm.mem.pageState, GFN);
  h.run();
  assert.equal(h.syncFaults.length, 1);
  assert.equal(h.works.length, 0, 'no async work, no token');
  h.completeSyncFaults();
  h.run();
  assert.equal(h.state.task.touches[0], 1);
  assert.equal(h.state.task.state[0], TASK_EXITED);
});

// x86-apf §8 case 70 end to end: Linux as L1. Between the IRQs-off read of host_apf_flags and
// kvm_handle_page_fault, L1 runs with interrupts on, so the page-ready IRQ can overtake the sleep.
test('x86-apf §8 case 70 (e2e, L1 hypervisor): the page-ready wins the race; the dummy is consumed', () => {
  const h = new LinuxHarness({ tasks: [[{ kind: 'touch', gpa: PAGE, write: true, mode: 'l2' }]] });
  host_page_evict(h.vm.mem.pageState, GFN);
  const st = h.state;
  h.runUntil(() => st.cpu.excPc[0] === NPF_HANDLE);
  assert.equal(st.task.host_apf_flags[0], 1, 'host_apf_flags read (and flags@0 cleared)');
  assert.equal(h.vm.mem.readU32(h.area()), 0);
  assert.equal(h.vcpu().rflags_if, true);
  h.completeWorks();
  h.runUntil(() => st.sleepers.dummiesCreated === 1);
  const nodes: number[][] = [];
  forEachSleepNode(st.sleepers, (_b, n) => nodes.push([st.sleepers.token[n]!, n]));
  assert.deepEqual(nodes, [[0x1000, st.sleepers.firstDummy]], 'a dummy for 0x1000');
  h.run();
  assert.equal(st.sleepers.dummiesConsumed, 1);
  assert.equal(st.counters.nestedApfSleeps, 0, 'the vCPU thread never slept');
  assert.equal(st.task.touches[0], 1);
  assert.equal(st.task.state[0], TASK_EXITED);
  assert.deepEqual(h.eventsOf('#PF'), [], 'a #PF VM-exit, not a #PF');
});

// x86-apf §4.7 / §8 case 41 (guest side): the L1 vCPU thread sleeps on the token.
test('x86-apf §8 case 41 (guest side): Linux as L1 sleeps its vCPU thread on the #PF VM-exit token', () => {
  const h = new LinuxHarness({
    tasks: [[{ kind: 'touch', gpa: PAGE, write: true, mode: 'l2' }], [{ kind: 'compute', ns: 1 }]],
  });
  host_page_evict(h.vm.mem.pageState, GFN);
  const st = h.state;
  h.run();
  assert.equal(st.task.state[0], TASK_SLEEPING);
  assert.equal(st.task.kpc[0], KPC_NESTED_APF_WAIT);
  assert.equal(st.counters.nestedApfSleeps, 1);
  assert.equal(st.task.bursts[1], 1, 'another task ran meanwhile');
  h.completeWorks();
  h.run();
  assert.equal(st.task.touches[0], 1);
  assert.equal(st.task.state[0], TASK_EXITED);
  assert.equal(h.vcpu().guest_mode, false);
});

test('e2e: two vCPUs fault independently; each page-ready goes to its own CPU', () => {
  const h = new LinuxHarness({
    vcpus: 2,
    tasks: [[{ kind: 'touch', gpa: PAGE, write: true }], [{ kind: 'touch', gpa: PAGE + 4096, write: true }]],
    taskCpus: [0, 1],
  });
  host_page_evict(h.vm.mem.pageState, GFN);
  host_page_evict(h.vm.mem.pageState, GFN + 1);
  h.run(0);
  h.run(1);
  const pfs = h.eventsOf('#PF');
  assert.deepEqual(
    pfs.map((e) => [e.vcpu, 'cr2' in e ? e.cr2 : '']),
    [
      [0, '0x1000'],
      [1, '0x1001'],
    ],
  );
  h.completeWorks();
  h.run(1);
  h.run(0);
  assert.equal(h.state.task.touches[0], 1);
  assert.equal(h.state.task.touches[1], 1);
  const irqs = h.eventsOf('irq').filter((e) => 'token' in e && e.token !== '0xffffffff');
  assert.deepEqual(irqs.map((e) => [e.vcpu, 'token' in e ? e.token : '']).sort(), [
    [0, '0x1000'],
    [1, '0x1001'],
  ]);
});

test('e2e: a touch of a mapped page completes inside the guest', () => {
  const h = new LinuxHarness({
    tasks: [
      [
        { kind: 'touch', gpa: PAGE, write: false },
        { kind: 'touch', gpa: PAGE, write: false },
      ],
    ],
  });
  const st = h.state;
  h.runUntil(() => st.task.touches[0] === 1);
  // The first touch exited once to map the resident page (RET_PF_FIXED) and completed.
  assert.equal(h.vm.effects.kind, GSTEP_TOUCH_FIXED);
  h.step();
  assert.equal(h.vm.effects.kind, GSTEP_TOUCH, 'the second stayed in the guest');
  assert.equal(st.task.touches[0], 2);
  assert.equal(st.task.retries[0], 0);
  assert.equal(h.traces.length, 1, 'only the boot wakeup-all');
});
