// The 'page not present' side of the guest (x86-apf §4.3, §4.7): the #PF entry hook (exc_page_fault →
// kvm_handle_async_pf → __kvm_handle_async_pf) and L1 KVM's handling of a #PF VM-exit from L2 when this
// Linux is itself a hypervisor; the waiting itself is apf_wait.ts. Each exported `step…` runs one guest
// instruction-sized step. The legacy guest's #PF handler shares the entry and the flags read and then
// branches to legacy_pf.ts.
import { KVM_PV_REASON_PAGE_NOT_PRESENT, KVM_PV_REASON_PAGE_READY } from '../../../abi/kvm_para.ts';
import type { KvmVcpu } from '../../../host/x86/vcpu.ts';
import { apfEnabled, apfReasonPa, kvm_read_and_reset_apf_flags } from './apf_reason.ts';
import { excReturn, kvm_async_pf_task_wait_queue } from './apf_wait.ts';
import { isLegacyGuest } from './config.ts';
import type { GuestCtx } from './context.ts';
import { do_async_page_fault } from './legacy_pf.ts';
import {
  guestPanic,
  guestWarning,
  PANIC_APF_IRQS_DISABLED,
  PANIC_APF_KERNEL_MODE,
  PANIC_NO_TASK,
} from './panic.ts';
import { ALLOC_FAILED, kvm_async_pf_task_wake } from './sleep_table.ts';
import {
  EXC_NONE,
  GSTEP_HANDLER,
  KPC_APF_WAIT,
  KPC_NESTED_APF_WAIT,
  NPF_HANDLE,
  NPF_READ_FLAGS,
  PF_HANDLE,
  PF_READ_FLAGS,
  packSaved,
  savedCpl,
  savedIf,
} from './state.ts';

/**
 * IDT vectoring of a #PF (vector 14, interrupt gate): save the interrupted IF and CPL, enter the
 * handler at CPL 0 with IF=0. The host has already put the token in CR2.
 */
export function enterPageFault(g: GuestCtx, vcpu: KvmVcpu, errorCode: number): void {
  const st = g.state;
  const c = vcpu.vcpu_id;
  st.cpu.excPc[c] = PF_READ_FLAGS;
  st.cpu.excToken[c] = vcpu.cr2 >>> 0;
  st.cpu.excErrorCode[c] = errorCode;
  st.cpu.excFlags[c] = 0;
  st.cpu.excSaved[c] = packSaved(vcpu.rflags_if, vcpu.cpl);
  vcpu.rflags_if = false;
  vcpu.cpl = 0;
  if (g.sink !== null) g.sink.pageFault(c, vcpu.cr2, errorCode, observedFlags(g, c));
}

/** apf_reason.flags as it is now, or -1 when the guest has APF off (for the transcript only). */
function observedFlags(g: GuestCtx, c: number): number {
  const st = g.state;
  if (!st.kvm_async_pf_enabled) return -1;
  return g.vm.mem.readU32(apfReasonPa(st.config, c));
}

/**
 * A #PF VM-exit from L2 reached L1's KVM (the L1 vCPU thread is the current task): leave L2 and run
 * the exit handler, first its IRQs-off part.
 */
export function enterNestedPfVmexit(g: GuestCtx, vcpu: KvmVcpu, faultAddress: number): void {
  const st = g.state;
  const c = vcpu.vcpu_id;
  vcpu.guest_mode = false;
  st.cpu.excPc[c] = NPF_READ_FLAGS;
  st.cpu.excToken[c] = faultAddress >>> 0;
  st.cpu.excErrorCode[c] = 0;
  st.cpu.excFlags[c] = 0;
  st.cpu.excSaved[c] = packSaved(true, 0);
  vcpu.rflags_if = false;
  vcpu.cpl = 0;
}

/** One step of the exception frame on this CPU. */
export function stepException(g: GuestCtx, vcpu: KvmVcpu): void {
  const st = g.state;
  const c = vcpu.vcpu_id;
  g.vm.effects.kind = GSTEP_HANDLER;
  switch (st.cpu.excPc[c]) {
    case PF_READ_FLAGS:
      // kvm_handle_async_pf: the hook runs only behind the static key.
      st.cpu.excFlags[c] = st.kvm_async_pf_enabled
        ? kvm_read_and_reset_apf_flags(g.vm.mem, st.config, st.cpu.percpuEnabled, c)
        : 0;
      st.cpu.excPc[c] = PF_HANDLE;
      return;
    case PF_HANDLE:
      if (isLegacyGuest(st.config)) do_async_page_fault(g, vcpu);
      else __kvm_handle_async_pf(g, vcpu);
      return;
    case NPF_READ_FLAGS: {
      // vmx/svm exit handling, IRQs off: host_apf_flags = kvm_read_and_reset_apf_flags(); then the run
      // loop enables IRQs before the exit handler proper.
      const t = st.cpu.curr[c]!;
      const flags = kvm_read_and_reset_apf_flags(g.vm.mem, st.config, st.cpu.percpuEnabled, c);
      if (t >= 0) st.task.host_apf_flags[t] = flags;
      st.cpu.excFlags[c] = flags;
      st.cpu.excPc[c] = NPF_HANDLE;
      vcpu.rflags_if = true;
      return;
    }
    case NPF_HANDLE:
      kvm_handle_page_fault(g, vcpu);
      return;
    default:
      st.cpu.excPc[c] = EXC_NONE;
  }
}

/** @kernel __kvm_handle_async_pf (x86-apf §4.3 steps 3–5), after the flags were read. */
function __kvm_handle_async_pf(g: GuestCtx, vcpu: KvmVcpu): void {
  const st = g.state;
  const c = vcpu.vcpu_id;
  const flags = st.cpu.excFlags[c]!;
  const saved = st.cpu.excSaved[c]!;
  if (flags === 0) {
    // Not an async #PF: the normal page-fault path, which the model does not simulate.
    st.counters.normalPageFaults++;
    excReturn(st, vcpu);
    return;
  }
  if (!savedIf(saved)) {
    guestPanic(g, c, PANIC_APF_IRQS_DISABLED);
    return;
  }
  if ((flags & KVM_PV_REASON_PAGE_NOT_PRESENT) === 0) {
    if (!st.warnedUnexpectedFlags) {
      st.warnedUnexpectedFlags = true;
      guestWarning(g, c, `Unexpected async PF flags: ${flags.toString(16)}`);
    }
    excReturn(st, vcpu);
    return;
  }
  if (savedCpl(saved) === 0) {
    guestPanic(g, c, PANIC_APF_KERNEL_MODE);
    return;
  }
  const t = st.cpu.curr[c]!;
  if (t < 0) {
    guestPanic(g, c, PANIC_NO_TASK);
    return;
  }
  if (kvm_async_pf_task_wait_queue(st, c, t, st.cpu.excToken[c]!, KPC_APF_WAIT)) {
    st.cpu.excPc[c] = EXC_NONE; // the frame now lives on the task's stack (task.kpc)
    st.counters.asyncPfSleeps++;
  } else excReturn(st, vcpu);
}

/**
 * @kernel kvm_handle_page_fault (L1's mmu.c, x86-apf §4.7): flags 0 is L1's own fault handling for L2
 * (not simulated); PAGE_NOT_PRESENT puts the L1 vCPU thread to sleep on the token (in the legacy guest
 * kvm_async_pf_task_wait(token, 0), which schedules: not idle, not atomic, not kernel-interrupting);
 * anything else WARNs — except in the legacy guest, where PAGE_READY wakes and any other value is a
 * normal fault.
 */
function kvm_handle_page_fault(g: GuestCtx, vcpu: KvmVcpu): void {
  const st = g.state;
  const c = vcpu.vcpu_id;
  const t = st.cpu.curr[c]!;
  const flags = st.cpu.excFlags[c]!;
  st.cpu.excPc[c] = EXC_NONE;
  const legacy = isLegacyGuest(st.config);
  if (
    flags === 0 ||
    (legacy && flags !== KVM_PV_REASON_PAGE_NOT_PRESENT && flags !== KVM_PV_REASON_PAGE_READY)
  ) {
    st.counters.nestedNormalFaults++; // ≤5.7: `default:` is L1's own fault handling too
    return;
  }
  if (legacy && flags === KVM_PV_REASON_PAGE_READY) {
    // ≤5.7 (x86-apf §5.3): a 'page ready' #PF VM-exit wakes, as do_async_page_fault would; IRQs off.
    if (t >= 0) st.task.host_apf_flags[t] = 0;
    g.wakerCpu = c;
    if (kvm_async_pf_task_wake(st.sleepers, st.cpu.excToken[c]!, c, g.wake) === ALLOC_FAILED)
      st.cpu.excPc[c] = NPF_HANDLE; // cpu_relax(); goto again
    else st.counters.pageReadyFaults++;
    return;
  }
  if ((flags & KVM_PV_REASON_PAGE_NOT_PRESENT) === 0) {
    if (!st.warnedUnexpectedHostFlags) {
      st.warnedUnexpectedHostFlags = true;
      guestWarning(g, c, `Unexpected host async PF flags: ${flags.toString(16)}`);
    }
    return;
  }
  if (t < 0) {
    guestPanic(g, c, PANIC_NO_TASK);
    return;
  }
  st.task.host_apf_flags[t] = 0;
  vcpu.rflags_if = false; // local_irq_disable()
  if (kvm_async_pf_task_wait_queue(st, c, t, st.cpu.excToken[c]!, KPC_NESTED_APF_WAIT))
    st.counters.nestedApfSleeps++;
  else vcpu.rflags_if = true;
}

/** For tests and the transcript: whether `cpu` has APF on (apf_reason.enabled or the per-CPU bool). */
export const cpuApfEnabled = (g: GuestCtx, cpu: number): boolean =>
  apfEnabled(g.vm.mem, g.state.config, g.state.cpu.percpuEnabled, cpu);
