// The waiting half of a 'not present' #PF (x86-apf §4.4, §5.3): queueing the waiter's sleep node and the
// scheduling wait loop of kvm_async_pf_task_wait_schedule (kvm_async_pf_task_wait in the legacy guest),
// plus the IRET from the exception frame that every path that does not sleep ends in.
import type { KvmVcpu } from '../../../host/x86/vcpu.ts';
import type { GuestCtx } from './context.ts';
import { schedule } from './scheduler.ts';
import { CONSUMED_DUMMY, kvm_async_pf_queue_task, sleeperUnhashed } from './sleep_table.ts';
import {
  EXC_NONE,
  GSTEP_HANDLER,
  KPC_APF_WAIT,
  KPC_USER,
  type LinuxGuestState,
  savedCpl,
  savedIf,
  TASK_RUNNING,
  TASK_SLEEPING,
} from './state.ts';
import { MODE_ATOMIC, MODE_KERNEL, taskTouchMode } from './task_exec.ts';

/** IRET from the exception frame to the interrupted context. */
export function excReturn(st: LinuxGuestState, vcpu: KvmVcpu): void {
  const c = vcpu.vcpu_id;
  const s = st.cpu.excSaved[c]!;
  st.cpu.excPc[c] = EXC_NONE;
  vcpu.rflags_if = savedIf(s);
  vcpu.cpl = savedCpl(s);
}

/**
 * @kernel kvm_async_pf_task_wait_schedule, its first half: consume a dummy (the wake came first: return at
 * once), or queue the task's node and enter the wait loop (`kpc`). Returns whether the task waits.
 */
export function kvm_async_pf_task_wait_queue(
  st: LinuxGuestState,
  c: number,
  t: number,
  token: number,
  kpc: number,
): boolean {
  if (kvm_async_pf_queue_task(st.sleepers, token, t, c) === CONSUMED_DUMMY) return false;
  st.task.state[t] = TASK_SLEEPING; // prepare_to_swait_exclusive(TASK_UNINTERRUPTIBLE)
  st.task.kpc[t] = kpc;
  st.task.waitToken[t] = token >>> 0;
  st.task.sleeps[t] = st.task.sleeps[t]! + 1;
  return true;
}

/**
 * The wait loop of kvm_async_pf_task_wait_schedule for the current task `t` (x86-apf §4.4 step 2): if
 * its node was unhashed, finish and return (to user mode after a #PF, to L1's run loop after a nested
 * exit; either way the faulting access re-executes); otherwise enable IRQs and schedule() away.
 */
export function stepApfWait(g: GuestCtx, vcpu: KvmVcpu, t: number): void {
  const st = g.state;
  vcpu.rflags_if = false; // local_irq_disable() after schedule() returned
  if (!sleeperUnhashed(st.sleepers, t)) {
    st.task.state[t] = TASK_SLEEPING;
    schedule(g, vcpu);
    return;
  }
  st.task.state[t] = TASK_RUNNING; // finish_swait
  // Back to the interrupted context: user mode, or (legacy PREEMPT guest) the kernel access that faulted,
  // or L1's run loop after a nested exit.
  const mode = taskTouchMode(st, t);
  const user = st.task.kpc[t] === KPC_APF_WAIT && mode !== MODE_KERNEL && mode !== MODE_ATOMIC;
  st.task.kpc[t] = KPC_USER;
  const fx = g.vm.effects;
  fx.kind = GSTEP_HANDLER;
  fx.task = t;
  vcpu.rflags_if = true;
  vcpu.cpl = user ? 3 : 0;
}
