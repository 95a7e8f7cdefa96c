// The legacy guest's #PF handler (x86-apf §5.3, [GUEST-4.19]; the same code from 4.15 to 5.7):
// do_async_page_fault switches on the reason it read and cleared — 0 (or anything unknown) is a normal
// page fault, 1 ('not present') waits in kvm_async_pf_task_wait(token = CR2, interrupt_kernel), 2
// ('page ready') wakes with kvm_async_pf_task_wake(token = CR2). Unlike the ≥5.8 hook there is no panic
// for kernel mode or IF = 0: a waiter that cannot schedule (the idle task, or an atomic context) waits
// *halted*, looping on `sti; hlt` inside the handler until its node is unhashed, and its waker sends it
// a reschedule IPI instead of a swait wakeup.
import { KVM_PV_REASON_PAGE_NOT_PRESENT, KVM_PV_REASON_PAGE_READY } from '../../../abi/kvm_para.ts';
import type { KvmVcpu } from '../../../host/x86/vcpu.ts';
import { excReturn, kvm_async_pf_task_wait_queue } from './apf_wait.ts';
import type { GuestCtx } from './context.ts';
import { guestHalt } from './halt.ts';
import {
  ALLOC_FAILED,
  CONSUMED_DUMMY,
  cpuNode,
  kvm_async_pf_queue_task,
  kvm_async_pf_task_wake,
  sleeperUnhashed,
} from './sleep_table.ts';
import { EXC_NONE, GSTEP_HANDLER, KPC_APF_WAIT, type LinuxGuestState, savedCpl, savedIf } from './state.ts';
import { MODE_ATOMIC, taskTouchMode } from './task_exec.ts';

/** @kernel do_async_page_fault, after kvm_read_and_reset_pf_reason (the PF_READ_FLAGS step). */
export function do_async_page_fault(g: GuestCtx, vcpu: KvmVcpu): void {
  const st = g.state;
  const c = vcpu.vcpu_id;
  const token = st.cpu.excToken[c]!; // (u32)read_cr2()
  switch (st.cpu.excFlags[c]) {
    case KVM_PV_REASON_PAGE_NOT_PRESENT:
      kvm_async_pf_task_wait(g, vcpu, token, savedCpl(st.cpu.excSaved[c]!) === 0);
      return;
    case KVM_PV_REASON_PAGE_READY:
      g.wakerCpu = c;
      // A failed dummy allocation unlocks, relaxes and retries: stay on this instruction.
      if (kvm_async_pf_task_wake(st.sleepers, token, c, g.wake) === ALLOC_FAILED) return;
      g.vm.effects.wakes = true;
      g.vm.effects.wakeToken = token;
      st.counters.pageReadyFaults++;
      excReturn(st, vcpu);
      return;
    default:
      // do_page_fault: not an async PF; the model does not simulate it.
      st.counters.normalPageFaults++;
      excReturn(st, vcpu);
  }
}

/**
 * Whether the #PF interrupted an atomic context: preempt_count() > 1 (the bucket lock is the 1) or
 * rcu_preempt_depth(). In the model that is a kernel access of the current task in `atomic` mode; RCU
 * read-side sections are not modelled.
 */
function interruptedAtomic(st: LinuxGuestState, c: number, t: number): boolean {
  return t >= 0 && savedCpl(st.cpu.excSaved[c]!) === 0 && taskTouchMode(st, t) === MODE_ATOMIC;
}

/**
 * @kernel kvm_async_pf_task_wait (4.19): consume a dummy (the wake came first) and return; otherwise hash
 * a node with `halted = is_idle_task(current) || (CONFIG_PREEMPT_COUNT ? preempt_count() > 1 ||
 * rcu_preempt_depth() : interrupt_kernel)`. A scheduling waiter sleeps in the wait loop (apf_wait.ts); a
 * halted one stays in the handler (stepHaltedWait). CONFIG_PREEMPT_COUNT is taken to be CONFIG_PREEMPT.
 */
function kvm_async_pf_task_wait(g: GuestCtx, vcpu: KvmVcpu, token: number, interrupt_kernel: boolean): void {
  const st = g.state;
  const c = vcpu.vcpu_id;
  const t = st.cpu.curr[c]!;
  const halted = t < 0 || (st.config.preempt ? interruptedAtomic(st, c, t) : interrupt_kernel);
  if (!halted) {
    if (kvm_async_pf_task_wait_queue(st, c, t, token, KPC_APF_WAIT)) {
      st.cpu.excPc[c] = EXC_NONE; // the frame now lives on the task's stack (task.kpc)
      st.counters.asyncPfSleeps++;
    } else excReturn(st, vcpu);
    return;
  }
  const node = t < 0 ? cpuNode(st.sleepers, c) : t;
  if (kvm_async_pf_queue_task(st.sleepers, token, node, c, true) === CONSUMED_DUMMY) {
    excReturn(st, vcpu);
    return;
  }
  // The handler stays on this CPU's stack: the halted loop runs before anything else the CPU would do.
  st.cpu.haltNode[c] = node;
  st.cpu.haltSaved[c] = st.cpu.excSaved[c]!;
  st.cpu.excPc[c] = EXC_NONE;
  st.counters.haltedApfWaits++;
  if (t >= 0) st.task.sleeps[t] = st.task.sleeps[t]! + 1;
}

/**
 * One pass of the halted loop of kvm_async_pf_task_wait: `local_irq_disable(); if (hlist_unhashed)
 * break; native_safe_halt();`. The wake that unhashes the node (page ready, or a wake-all) sends this
 * CPU a reschedule IPI, whose delivery ends the HLT; the next pass finds the node gone and returns from
 * the #PF to the interrupted context.
 */
export function stepHaltedWait(g: GuestCtx, vcpu: KvmVcpu): void {
  const st = g.state;
  const c = vcpu.vcpu_id;
  vcpu.rflags_if = false;
  if (sleeperUnhashed(st.sleepers, st.cpu.haltNode[c]!)) {
    const s = st.cpu.haltSaved[c]!;
    st.cpu.haltNode[c] = -1;
    g.vm.effects.kind = GSTEP_HANDLER;
    vcpu.rflags_if = savedIf(s);
    vcpu.cpl = savedCpl(s);
    return;
  }
  vcpu.rflags_if = true; // native_safe_halt: sti; hlt
  vcpu.cpl = 0;
  guestHalt(g, vcpu);
}
