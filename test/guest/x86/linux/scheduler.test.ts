import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KVM_MP_STATE_RUNNABLE } from '../../../../src/abi/kvm.ts';
import {
  GSTEP_COMPUTE,
  GSTEP_CONTEXT_SWITCH,
  GSTEP_HALT,
  GSTEP_HANDLER,
  GSTEP_KERNEL,
  GSTEP_TASK_EXIT,
  TASK_EXITED,
} from '../../../../src/guest/x86/linux/state.ts';
import { computeForever, LinuxHarness } from './test_harness.ts';

/** Steps CPU 0 `n` times and returns the step effects [kind, task] after each step. */
function trace(h: LinuxHarness, n: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    h.step();
    out.push([h.vm.effects.kind, h.vm.effects.task]);
  }
  return out;
}

test('scheduler: the step kinds of a boot, two bursts, an exit and the idle halt', () => {
  const h = new LinuxHarness({
    tasks: [
      [
        { kind: 'compute', ns: 10 },
        { kind: 'compute', ns: 20 },
      ],
    ],
  });
  const kinds = trace(h, 16).map(([k]) => k);
  assert.deepEqual(kinds, [
    GSTEP_KERNEL, // wrmsr INT
    GSTEP_KERNEL, // wrmsr EN
    GSTEP_KERNEL, // enabled := 1
    GSTEP_KERNEL, // sti
    GSTEP_KERNEL, // LAPIC software enable
    GSTEP_HANDLER, // wakeup-all: EOI
    GSTEP_HANDLER, // irq_hv_callback_count++
    GSTEP_HANDLER, // read token
    GSTEP_HANDLER, // wake all
    GSTEP_HANDLER, // token := 0
    GSTEP_HANDLER, // ACK, iret
    GSTEP_CONTEXT_SWITCH, // idle → task 0
    GSTEP_COMPUTE,
    GSTEP_COMPUTE,
    GSTEP_TASK_EXIT,
    GSTEP_HALT,
  ]);
  assert.equal(h.state.task.state[0], TASK_EXITED);
});

test('scheduler: without slicing a task runs until it sleeps or exits', () => {
  const h = new LinuxHarness({ program: computeForever, nTasks: 2 });
  h.runUntil(() => h.inUser(0, 0));
  const tasks = trace(h, 20).map(([, t]) => t);
  assert.ok(tasks.every((t) => t === 0));
});

test('scheduler: slice_actions preempts a task after that many actions when another is runnable', () => {
  const h = new LinuxHarness({ program: computeForever, nTasks: 2, guest: { slice_actions: 2 } });
  h.runUntil(() => h.inUser(0, 0));
  const steps = trace(h, 9);
  assert.deepEqual(
    steps.map(([k, t]) => (k === GSTEP_CONTEXT_SWITCH ? `switch→${t}` : `${t}`)),
    ['0', '0', 'switch→1', '1', '1', 'switch→0', '0', '0', 'switch→1'],
  );
  assert.equal(h.vm.effects.ns, 0, 'a context switch charges no compute time');
  assert.equal(steps.filter(([k]) => k === GSTEP_COMPUTE).length, 6);
});

test('scheduler: spawning more than max_tasks tasks is a usage error', () => {
  const h = new LinuxHarness({ guest: { max_tasks: 2 } });
  h.guest.spawnTask(0);
  h.guest.spawnTask(0);
  assert.throws(() => h.guest.spawnTask(0), RangeError);
});

test('scheduler: a CPU brought back online re-enables APF and gets a fresh wakeup-all', () => {
  const h = new LinuxHarness({ vcpus: 2 });
  h.run(0);
  h.run(1);
  h.guest.requestCpuOffline(1, false);
  h.run(1);
  assert.equal(h.vcpu(1).apf.msr_en_val, 0n);
  h.guest.requestCpuOnline(1);
  h.vcpu(1).mp_state = KVM_MP_STATE_RUNNABLE; // INIT/SIPI: whoever onlines the CPU makes it runnable
  h.run(1);
  assert.equal(h.vcpu(1).apf.msr_en_val, (0x10000n + 128n) | 0xdn);
  assert.equal(h.state.cpu.online[1], 1);
  const wakeAlls = h.eventsOf('irq').filter((e) => e.vcpu === 1 && 'token' in e && e.token === '0xffffffff');
  assert.equal(wakeAlls.length, 2);
});
