// The vCPU side: entering and leaving SIE (vcpu_pre_run / vcpu_post_run), the enabled-wait intercept
// kvm_s390_handle_wait (O9) with each strategy's IAM handling, and the halted thread re-checking
// kvm_vcpu_check_block after a wake-up. The F2 question lives here: kvm_arch_vcpu_runnable clears the vCPU's
// kicked_mask bit, so a kicked vCPU that finds nothing and sleeps again can be kicked again.
import { NULL_GISA_ADDR } from '../abi/s390_gisa.ts';
import { deliverable_io, kvm_s390_deliver_pending_interrupts } from './deliver.ts';
import { EOPNOTSUPP } from './errno.ts';
import { gisa_get_ipm_or_restore_iam, gisa_set_iam } from './gisa.ts';
import { __set_cpu_idle, __unset_cpu_idle, idleIndex, kvm_s390_vcpu_wakeup } from './idle.ts';
import { hex8 } from './isc.ts';
import { cancelCkc, startCkc } from './timers.ts';
import {
  emit,
  type S390World,
  traits,
  VCPU_HALTED,
  VCPU_HOST,
  VCPU_IN_SIE,
  type VcpuState,
  type VmState,
  vcpuName,
} from './world.ts';

/** kvm_s390_vcpu_has_irq, I/O and clock part: a deliverable I/O class or a pending timer interruption. */
export const kvm_s390_vcpu_has_irq = (vm: VmState, v: VcpuState): boolean =>
  deliverable_io(vm, v) !== 0 || v.ckc_pending;

/** kvm_arch_vcpu_runnable; after F2 it first clears the vCPU's kicked_mask bit (indexed by vcpu_idx). */
export function kvm_arch_vcpu_runnable(w: S390World, vm: VmState, v: VcpuState): boolean {
  if (w.cfg.fixes.F2) vm.gi.kicked_mask &= ~(1 << v.vcpu_idx);
  return kvm_s390_vcpu_has_irq(vm, v);
}

/**
 * @kernel vcpu_pre_run, then SIE entry: deliver pending interruptions, clear the kicked_mask bit (at vcpu_id before F1),
 * enter SIE. v3 counts vCPUs in SIE.
 */
export function vcpu_enter_sie(w: S390World, vm: VmState, v: VcpuState): void {
  kvm_s390_deliver_pending_interrupts(w, vm, v);
  vm.gi.kicked_mask &= ~(1 << idleIndex(w, v));
  v.state = VCPU_IN_SIE;
  vm.vcpus_in_sie++;
  if (w.tracing) emit(w, { event: 'sie_entry', vcpu: vcpuName(vm, v) });
}

/** @kernel vcpu_post_run, after SIE exit. v3 re-arms the IAM when the last vCPU leaves SIE ("restored as soon a vm is idle"). */
export function vcpu_leave_sie(w: S390World, vm: VmState, v: VcpuState): void {
  v.state = VCPU_HOST;
  vm.vcpus_in_sie--;
  if (w.tracing) emit(w, { event: 'sie_exit', vcpu: vcpuName(vm, v) });
  if (traits(w).restoreOnVmIdle && vm.vcpus_in_sie === 0 && vm.gi.origin !== NULL_GISA_ADDR)
    gisa_set_iam(w, vm, vm.gi.mask, 'vm_idle');
}

const psw_interrupts_disabled = (v: VcpuState): boolean => !v.psw_io && !v.psw_ext && !v.psw_mchk;

export interface WaitOutcome {
  readonly rc: number;
  /** Where handle_wait returned: runnable (fast path), disabled_wait, gisa_pending, ckc_expired, blocked. */
  readonly path: 'runnable' | 'disabled_wait' | 'gisa_pending' | 'ckc_expired' | 'blocked';
}

// The outcomes are shared constants: a simulator runs handle_wait millions of times.
const RUNNABLE: WaitOutcome = Object.freeze({ rc: 0, path: 'runnable' });
const DISABLED_WAIT: WaitOutcome = Object.freeze({ rc: -EOPNOTSUPP, path: 'disabled_wait' });
const GISA_PENDING: WaitOutcome = Object.freeze({ rc: 0, path: 'gisa_pending' });
const CKC_EXPIRED: WaitOutcome = Object.freeze({ rc: 0, path: 'ckc_expired' });
const BLOCKED: WaitOutcome = Object.freeze({ rc: 0, path: 'blocked' });

/**
 * O9 kvm_s390_handle_wait for a vCPU that just left SIE on an enabled-wait intercept. Step 4 is the strategy
 * point: v7/current/v5 call gisa_get_ipm_or_restore_iam (re-arming the IAM when nothing registered is pending —
 * the v4 idea that the first vCPU to idle re-arms alerting), v4 writes the IAM unconditionally, v3/v6 do nothing.
 */
export function kvm_s390_handle_wait(w: S390World, vm: VmState, v: VcpuState): WaitOutcome {
  v.stat.exit_wait_state++;
  if (kvm_arch_vcpu_runnable(w, vm, v)) return RUNNABLE;
  if (psw_interrupts_disabled(v)) return DISABLED_WAIT;
  if (vm.gi.origin !== NULL_GISA_ADDR) {
    const how = traits(w).waitRestore;
    if (how === 'get_ipm_or_restore_iam') {
      const pending = gisa_get_ipm_or_restore_iam(w, vm, 'kvm_s390_handle_wait');
      if (pending & v.cr6) return GISA_PENDING;
    } else if (how === 'set_iam') gisa_set_iam(w, vm, vm.gi.mask, 'kvm_s390_handle_wait');
  }
  if (v.ckc_ns < 0) {
    __set_cpu_idle(w, vm, v);
  } else {
    if (v.ckc_ns === 0) return CKC_EXPIRED;
    __set_cpu_idle(w, vm, v);
    startCkc(w, v, v.ckc_ns);
  }
  vm.fi.last_sleep_cpu = v.vcpu_idx;
  v.state = VCPU_HALTED;
  if (w.tracing) emit(w, { event: 'halt', vcpu: vcpuName(vm, v), idle_mask_bit: idleIndex(w, v) });
  return BLOCKED;
}

/**
 * @kernel kvm_vcpu_check_block: the halted vCPU thread runs it (after a wake-up, or spuriously): runnable → leave the halt
 * (valid_wakeup := false, __unset_cpu_idle, cancel the ckc timer) and return to the run loop; otherwise sleep
 * again, idle bits untouched.
 */
export function vcpu_check_block(w: S390World, vm: VmState, v: VcpuState): 'exit' | 'sleep' {
  v.wakeup_pending = false;
  if (!kvm_arch_vcpu_runnable(w, vm, v)) {
    if (w.tracing)
      emit(w, {
        event: 'halt_sleep_again',
        vcpu: vcpuName(vm, v),
        kicked_mask_bit: (vm.gi.kicked_mask >> v.vcpu_idx) & 1,
      });
    return 'sleep';
  }
  v.valid_wakeup = false;
  __unset_cpu_idle(w, vm, v);
  cancelCkc(v);
  v.state = VCPU_HOST;
  if (w.tracing) emit(w, { event: 'halt_exit', vcpu: vcpuName(vm, v) });
  return 'exit';
}

/** kvm_s390_idle_wakeup (ckc hrtimer callback): the clock-comparator condition is now pending; wake the vCPU. */
export function kvm_s390_idle_wakeup(w: S390World, vm: VmState, v: VcpuState): void {
  cancelCkc(v);
  v.ckc_pending = true;
  kvm_s390_vcpu_wakeup(w, vm, v, 'kvm_s390_idle_wakeup');
}

/** Guest loads a PSW: the I/O, external and machine-check masks. */
export function setPsw(v: VcpuState, m: { io?: boolean; ext?: boolean; mchk?: boolean }): void {
  if (m.io !== undefined) v.psw_io = m.io;
  if (m.ext !== undefined) v.psw_ext = m.ext;
  if (m.mchk !== undefined) v.psw_mchk = m.mchk;
}

/** Guest loads CR6: the ISC enable byte. */
export function setCr6(w: S390World, vm: VmState, v: VcpuState, mask: number): void {
  v.cr6 = mask & 0xff;
  if (w.tracing) emit(w, { event: 'cr6', vcpu: vcpuName(vm, v), iscs: hex8(v.cr6) });
}
