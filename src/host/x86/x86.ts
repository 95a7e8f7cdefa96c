// The vCPU run loop and the exits APF cares about (arch/x86/kvm/x86.c, x86-apf §3.9, §3.12): request
// processing in kernel order, event injection, vcpu_block and its wakeup, WRMSR/RDMSR dispatch, CR0
// writes and INIT/RESET.
import { MSR_IA32_APICBASE, MSR_IA32_APICBASE_ENABLE, MSR_IA32_APICBASE_EXTD } from '../../abi/apicdef.ts';
import { KVM_MP_STATE_HALTED, KVM_MP_STATE_RUNNABLE } from '../../abi/kvm.ts';
import { KVM_REQ_APF_HALT, KVM_REQ_APF_READY, PF_VECTOR } from '../../abi/kvm_host.ts';
import { MSR_KVM_ASYNC_PF_ACK } from '../../abi/kvm_para.ts';
import { kvm_arch_interrupt_allowed, kvm_is_exception_pending, kvm_pv_async_pf_enabled } from './apf.ts';
import { kvm_check_async_pf_completion, kvm_clear_async_pf_completion_queue } from './async_pf.ts';
import { kvm_async_pf_hash_reset } from './async_pf_hash.ts';
import { doneEmpty } from './async_pf_work.ts';
import { hypercall } from './hypercall.ts';
import {
  apic_x2apic_mode,
  kvm_apic_ack_interrupt,
  kvm_apic_has_interrupt,
  kvm_apic_hw_enabled,
  kvm_lapic_reg_write,
  kvm_lapic_reset,
} from './lapic.ts';
import { kvm_mmu_reload } from './mmu_install.ts';
import {
  isApfMsr,
  isKvmPvMsr,
  KVM_MSR_RET_UNSUPPORTED,
  kvm_get_msr_common_apf,
  kvm_get_msr_host,
  kvm_set_msr_common_apf,
  kvm_set_msr_host,
} from './msr.ts';
import { kvm_vcpu_reset_pv } from './pv_msrs.ts';
import {
  EXIT_REASON_APIC_ACCESS,
  EXIT_REASON_HLT,
  EXIT_REASON_MSR_READ,
  EXIT_REASON_MSR_WRITE,
  EXIT_REASON_VMCALL,
  exceptionHasErrorCode,
  TP_KVM_ENTRY,
  TP_KVM_EXIT,
  TP_KVM_HYPERCALL,
  TP_KVM_INJ_EXCEPTION,
  TP_KVM_INJ_VIRQ,
  TP_KVM_MSR,
} from './trace.ts';
import {
  IN_GUEST_MODE,
  type KvmVcpu,
  kvm_check_request,
  kvm_make_request,
  OUTSIDE_GUEST_MODE,
  set_msr_en_val,
} from './vcpu.ts';
import { INJECT_EXCEPTION, INJECT_IRQ, INJECT_NESTED_PF_VMEXIT, type KvmVm, lapic_in_kernel } from './vm.ts';

/** @kernel kvm_vcpu_running: RUNNABLE and not in the artificial halt. */
export const kvm_vcpu_running = (vcpu: KvmVcpu): boolean =>
  vcpu.mp_state === KVM_MP_STATE_RUNNABLE && !vcpu.apf.halted;

/** @kernel kvm_cpu_has_injectable_intr (LAPIC part). */
export const kvm_cpu_has_interrupt = (vm: KvmVm, vcpu: KvmVcpu): boolean =>
  lapic_in_kernel(vm) && kvm_apic_has_interrupt(vcpu.apic) >= 0;

/** @kernel kvm_vcpu_has_events: a non-empty `done` counts, which is why HLT returns at once then. */
export function kvm_vcpu_has_events(vm: KvmVm, vcpu: KvmVcpu): boolean {
  if (!doneEmpty(vcpu.async_pf)) return true;
  if (kvm_is_exception_pending(vcpu)) return true;
  return kvm_arch_interrupt_allowed(vcpu) && kvm_cpu_has_interrupt(vm, vcpu);
}

/** @kernel kvm_arch_vcpu_runnable */
export const kvm_arch_vcpu_runnable = (vm: KvmVm, vcpu: KvmVcpu): boolean =>
  vcpu.sync_fault_gfn < 0 &&
  vcpu.mmu_fault_gfn < 0 &&
  (kvm_vcpu_running(vcpu) || kvm_vcpu_has_events(vm, vcpu));

/**
 * @kernel vcpu_block, after the wait: a HLT-halted vCPU becomes RUNNABLE and the artificial halt ends,
 * whatever woke it (x86-apf §3.9 step 4). The caller has checked kvm_arch_vcpu_runnable.
 */
export function vcpu_block_wakeup(vcpu: KvmVcpu): void {
  if (vcpu.mp_state === KVM_MP_STATE_HALTED) vcpu.mp_state = KVM_MP_STATE_RUNNABLE;
  vcpu.apf.halted = false;
}

/**
 * A VM exit: the instruction the guest executed traps to the host, which handles it before re-entry.
 * An exit is serializing: a store the vCPU left buffered (present-queued-barrier) becomes visible.
 * @model no kernel function of this name: what every VM exit does that the model depends on.
 */
export function kvm_vmexit(vcpu: KvmVcpu): void {
  vcpu.mode = OUTSIDE_GUEST_MODE;
  kvm_drain_store_buffer(vcpu);
}

/**
 * A VM exit with its VMX basic exit reason and exit qualification (info1), for the kvm_exit tracepoint:
 * the exits a guest model makes itself (CPUID, VMCALL, port I/O, CR writes, VMRESUME).
 * @model kvm_vmexit plus the tracepoint vmx_handle_exit fires (trace_kvm_exit).
 */
export function kvm_vmexit_reason(vm: KvmVm, vcpu: KvmVcpu, reason: number, info1 = 0): void {
  vm.hooks.kvmTrace?.(vcpu.vcpu_id, TP_KVM_EXIT, reason, info1, 0, 0n, null);
  kvm_vmexit(vcpu);
}

/**
 * The buffered `pageready_pending = false` of a barrier-less ACK becomes visible.
 * @model the hardware store buffer draining (present-queued-barrier), not a kernel function.
 */
export function kvm_drain_store_buffer(vcpu: KvmVcpu): void {
  const apf = vcpu.apf;
  if (apf.pageready_pending_store_buffered) {
    apf.pageready_pending_store_buffered = false;
    apf.pageready_pending = false;
  }
}

export const ENTER_HALTED = 0;
export const ENTER_OK = 1;
/** kvm_mmu_reload failed: KVM_RUN returns its error to the VMM (or a BUG killed the host). */
export const ENTER_ERROR = 2;

/**
 * @kernel vcpu_enter_guest up to VM entry: requests in kernel order (APF_HALT before APF_READY), then
 * kvm_check_and_inject_events: a pending exception first, else one interrupt if IF allows. Injected
 * events go to the guest model. Returns ENTER_HALTED when APF_HALT sent the vCPU into the artificial
 * halt instead of the guest.
 */
export function vcpu_enter_guest(
  vm: KvmVm,
  vcpu: KvmVcpu,
): typeof ENTER_HALTED | typeof ENTER_OK | typeof ENTER_ERROR {
  // ≤5.7: vcpu_run called kvm_check_async_pf_completion after every exit, not on a request.
  if (vm.era.completionPolled) kvm_check_async_pf_completion(vm, vcpu);
  if (vcpu.requests !== 0) {
    if (kvm_check_request(vcpu, KVM_REQ_APF_HALT)) {
      // Page is swapped out: do a synthetic halt.
      vcpu.apf.halted = true;
      vcpu.stat.apf_halts++;
      return ENTER_HALTED;
    }
    if (kvm_check_request(vcpu, KVM_REQ_APF_READY)) kvm_check_async_pf_completion(vm, vcpu);
  }
  // kvm_mmu_reload (with the memory-cache model): the first entry, or the first after a memslot update
  // freed the roots, loads one. Old kernels (3.x) reloaded before the injection; later ones after it,
  // cancelling the injection on failure (goto cancel_injection). The model's injection reaches the guest
  // model at once, so the reload comes first: the outcome is the same.
  const m = vm.memcache;
  if (m !== null && !kvm_mmu_reload(vm, vcpu, m, false)) return ENTER_ERROR;
  kvm_check_and_inject_events(vm, vcpu);
  vcpu.mode = IN_GUEST_MODE;
  return ENTER_OK;
}

/** @kernel kvm_check_and_inject_events (the parts modelled): one event per entry. */
function kvm_check_and_inject_events(vm: KvmVm, vcpu: KvmVcpu): void {
  const e = vcpu.exception;
  if (e.pending || e.injected) {
    const reinjected = e.injected;
    e.pending = false;
    e.injected = false;
    if (e.vmexit) {
      e.vmexit = false;
      vm.effects.excInjected++;
      vm.hooks.kvmTrace?.(vcpu.vcpu_id, TP_KVM_ENTRY, 0, 0, 0, 0n, null);
      vm.hooks.injected?.(vcpu, INJECT_NESTED_PF_VMEXIT, e.payload);
      vm.guest.deliverNestedPfVmexit(vcpu, e.payload);
      return;
    }
    if (e.has_payload && e.vector === PF_VECTOR) vcpu.cr2 = e.payload;
    e.has_payload = false;
    vm.effects.excInjected++;
    const t = vm.hooks.kvmTrace;
    if (t != null) traceExceptionEntry(t, vcpu.vcpu_id, e.vector, e.error_code, reinjected);
    vm.hooks.injected?.(vcpu, INJECT_EXCEPTION, e.vector);
    vm.guest.deliverException(vcpu, e.vector, e.error_code);
    return;
  }
  const vector =
    kvm_arch_interrupt_allowed(vcpu) && lapic_in_kernel(vm) ? kvm_apic_has_interrupt(vcpu.apic) : -1;
  if (vector < 0) {
    vm.hooks.kvmTrace?.(vcpu.vcpu_id, TP_KVM_ENTRY, 0, 0, 0, 0n, null);
    return;
  }
  kvm_apic_ack_interrupt(vcpu.apic, vector);
  vm.effects.irqInjected++;
  const t = vm.hooks.kvmTrace;
  if (t != null) {
    t(vcpu.vcpu_id, TP_KVM_INJ_VIRQ, vector, 0, 0, 0n, null);
    // VM-entry interruption information: valid, type 0 (external interrupt), the vector.
    t(vcpu.vcpu_id, TP_KVM_ENTRY, (0x80000000 | vector) >>> 0, 0, 0, 0n, null);
  }
  vm.hooks.injected?.(vcpu, INJECT_IRQ, vector);
  vm.guest.deliverInterrupt(vcpu, vector);
}

/**
 * kvm_inj_exception and kvm_entry for an exception injected at this entry (a triple fault is no
 * injection). The entry's interruption information: valid, type 3 (hardware exception), the vector,
 * and bit 11 when an error code is delivered.
 */
function traceExceptionEntry(
  t: NonNullable<KvmVm['hooks']['kvmTrace']>,
  id: number,
  vector: number,
  errorCode: number,
  reinjected: boolean,
): void {
  if (vector < 0) {
    t(id, TP_KVM_ENTRY, 0, 0, 0, 0n, null);
    return;
  }
  const hasError = exceptionHasErrorCode(vector);
  t(id, TP_KVM_INJ_EXCEPTION, vector, errorCode, reinjected ? 1 : 0, 0n, null);
  const info = (0x80000300 | (hasError ? 0x800 : 0) | vector) >>> 0;
  t(id, TP_KVM_ENTRY, info, hasError ? errorCode >>> 0 : 0, 0, 0n, null);
}

/**
 * kvm_emulate_halt: the guest executed HLT (with HLT exiting). `vm`: for the kvm_exit tracepoint (a
 * caller without it traces nothing).
 */
export function kvm_emulate_halt(vcpu: KvmVcpu, vm?: KvmVm): void {
  vm?.hooks.kvmTrace?.(vcpu.vcpu_id, TP_KVM_EXIT, EXIT_REASON_HLT, 0, 0, 0n, null);
  kvm_vmexit(vcpu);
  vcpu.mp_state = KVM_MP_STATE_HALTED;
}

const X2APIC_FIRST = 0x800;
const X2APIC_LAST = 0x8ff;

/**
 * Guest WRMSR (handle_wrmsr → kvm_set_msr_common). Returns true on success, false for #GP. The caller
 * injects the #GP. Traced: kvm_exit (MSR_WRITE), then kvm_msr with ` (#GP)` on failure.
 */
export function kvm_emulate_wrmsr(vm: KvmVm, vcpu: KvmVcpu, msr: number, data: bigint): boolean {
  vm.hooks.kvmTrace?.(vcpu.vcpu_id, TP_KVM_EXIT, EXIT_REASON_MSR_WRITE, 0, 0, 0n, null);
  const ok = set_msr(vm, vcpu, msr, data);
  vm.hooks.kvmTrace?.(vcpu.vcpu_id, TP_KVM_MSR, msr, 1, ok ? 0 : 1, data, null);
  return ok;
}

/** The WRMSR after its exit: kvm_set_msr_common for the MSRs the model has (KVM_SET_MSRS too). */
function set_msr(vm: KvmVm, vcpu: KvmVcpu, msr: number, data: bigint): boolean {
  kvm_vmexit(vcpu);
  if (msr === MSR_KVM_ASYNC_PF_ACK) vm.effects.acks++; // the exit, whether or not the write then #GPs
  if (isKvmPvMsr(vm, msr)) return kvm_set_msr_common_apf(vm, vcpu, msr, data) === 0;
  if (msr === MSR_IA32_APICBASE) return kvm_set_apic_base(vm, vcpu, data);
  if (msr >= X2APIC_FIRST && msr <= X2APIC_LAST) {
    if (!lapic_in_kernel(vm) || !apic_x2apic_mode(vcpu.apic)) return false;
    return lapic_write(vm, vcpu, (msr - X2APIC_FIRST) << 4, Number(data & 0xffffffffn));
  }
  return false;
}

/** Guest RDMSR: the value, or null for #GP. Traced: kvm_exit (MSR_READ), then kvm_msr (0 and ` (#GP)` on failure). */
export function kvm_emulate_rdmsr(vm: KvmVm, vcpu: KvmVcpu, msr: number): bigint | null {
  vm.hooks.kvmTrace?.(vcpu.vcpu_id, TP_KVM_EXIT, EXIT_REASON_MSR_READ, 0, 0, 0n, null);
  const v = get_msr(vm, vcpu, msr);
  vm.hooks.kvmTrace?.(vcpu.vcpu_id, TP_KVM_MSR, msr, 0, v === null ? 1 : 0, v ?? 0n, null);
  return v;
}

/** The RDMSR after its exit, for the MSRs the model has (KVM_GET_MSRS too). */
function get_msr(vm: KvmVm, vcpu: KvmVcpu, msr: number): bigint | null {
  kvm_vmexit(vcpu);
  if (isKvmPvMsr(vm, msr)) {
    const r = kvm_get_msr_common_apf(vm, vcpu, msr);
    return typeof r === 'object' ? r.value : null;
  }
  if (msr === MSR_IA32_APICBASE) return lapic_in_kernel(vm) ? BigInt(vcpu.apic.apic_base) : null;
  if (msr >= X2APIC_FIRST && msr <= X2APIC_LAST) {
    if (!lapic_in_kernel(vm) || !apic_x2apic_mode(vcpu.apic)) return null;
    if (msr === 0x80f) return BigInt(vcpu.apic.spiv);
    if (msr === 0x808) return BigInt(vcpu.apic.tpr);
    return 0n;
  }
  return null;
}

/** @kernel do_set_msr: KVM_SET_MSRS for one MSR; whether it was processed. */
export function kvm_set_msr_host_initiated(vm: KvmVm, vcpu: KvmVcpu, msr: number, data: bigint): boolean {
  if (isKvmPvMsr(vm, msr)) return kvm_set_msr_host(vm, vcpu, msr, data);
  return set_msr(vm, vcpu, msr, data);
}

/** @kernel do_get_msr: KVM_GET_MSRS for one MSR; the value, or null when not processed. */
export function kvm_get_msr_host_initiated(vm: KvmVm, vcpu: KvmVcpu, msr: number): bigint | null {
  if (isKvmPvMsr(vm, msr)) return kvm_get_msr_host(vm, vcpu, msr);
  return get_msr(vm, vcpu, msr);
}

/**
 * A LAPIC register write; an SVR write with the enable bit asks for an APF rescan (2f15d027c05f).
 * @model the APIC-access / x2APIC-MSR exit around kvm_lapic_reg_write.
 */
export function kvm_lapic_write(vm: KvmVm, vcpu: KvmVcpu, reg: number, val: number): boolean {
  // An xAPIC MMIO write: APIC_ACCESS, qualification = the page offset | access type 1 (linear write).
  vm.hooks.kvmTrace?.(vcpu.vcpu_id, TP_KVM_EXIT, EXIT_REASON_APIC_ACCESS, 0x1000 | reg, 0, 0n, null);
  return lapic_write(vm, vcpu, reg, val);
}

/** The register write after its exit (an xAPIC MMIO or x2APIC MSR exit, traced by the caller). */
function lapic_write(vm: KvmVm, vcpu: KvmVcpu, reg: number, val: number): boolean {
  kvm_vmexit(vcpu);
  const r = kvm_lapic_reg_write(vcpu.apic, reg, val);
  if (r === 'spiv-enabled') kvm_make_request(vcpu, KVM_REQ_APF_READY);
  void vm;
  return true;
}

/** @kernel kvm_lapic_set_base (subset): hardware enable/disable and x2APIC mode; enabling rescans APF. */
function kvm_set_apic_base(vm: KvmVm, vcpu: KvmVcpu, data: bigint): boolean {
  if (!lapic_in_kernel(vm)) return false;
  const v = Number(data & 0xfffff_ffffn);
  const was = kvm_apic_hw_enabled(vcpu.apic);
  // x2APIC may only be entered from xAPIC-enabled; EXTD without ENABLE is invalid.
  if ((v & MSR_IA32_APICBASE_EXTD) !== 0 && (v & MSR_IA32_APICBASE_ENABLE) === 0) return false;
  vcpu.apic.apic_base = v;
  if (!was && kvm_apic_hw_enabled(vcpu.apic)) kvm_make_request(vcpu, KVM_REQ_APF_READY);
  return true;
}

/**
 * @kernel kvm_post_set_cr0 (the APF part, x86-apf §3.12): ≤6.17 a CR0.PG toggle clears the completion
 * queue; 6.18+ keeps it and rescans when paging comes back on (ab4e41eb9fab).
 */
export function kvm_set_cr0_pg(vm: KvmVm, vcpu: KvmVcpu, pg: boolean): void {
  kvm_vmexit(vcpu);
  if (vcpu.cr0_pg === pg) return;
  vcpu.cr0_pg = pg;
  if (vm.era.cr0PgClearsQueue) {
    kvm_clear_async_pf_completion_queue(vcpu);
    kvm_async_pf_hash_reset(vcpu.apf.gfns);
  } else if (pg && kvm_pv_async_pf_enabled(vm, vcpu)) {
    kvm_make_request(vcpu, KVM_REQ_APF_READY);
  }
}

/**
 * @kernel kvm_vcpu_reset (x86-apf §3.12, §8 case 57): INIT and RESET zero the APF MSRs, clear the queue
 * and the hash and end the halt; vec, id and pageready_pending survive. The architectural state goes
 * back to real mode with interrupts off.
 */
export function kvm_vcpu_reset(vm: KvmVm, vcpu: KvmVcpu, initEvent: boolean): void {
  kvm_vmexit(vcpu);
  const apf = vcpu.apf;
  set_msr_en_val(apf, 0n);
  apf.msr_int_val = 0n;
  kvm_clear_async_pf_completion_queue(vcpu);
  kvm_async_pf_hash_reset(apf.gfns);
  apf.halted = false;
  kvm_vcpu_reset_pv(vcpu, lapic_in_kernel(vm));
  if (lapic_in_kernel(vm)) kvm_lapic_reset(vcpu.apic, initEvent, vcpu.vcpu_id === 0);
  vcpu.exception.pending = false;
  vcpu.exception.injected = false;
  vcpu.irq_reinject = false;
  vcpu.requests = 0;
  vcpu.mp_state = KVM_MP_STATE_RUNNABLE;
  vcpu.rflags_if = false;
  vcpu.interrupt_shadow = false;
  vcpu.cpl = 0;
  vcpu.cr0_pg = false;
  vcpu.cr2 = 0;
  vcpu.cr3 = 0;
  vcpu.guest_mode = false;
}

export { KVM_HC_KICK_CPU, KVM_HC_SCHED_YIELD, KVM_HC_SEND_IPI } from './hypercall.ts';
export { isApfMsr, KVM_MSR_RET_UNSUPPORTED };

/**
 * @kernel kvm_emulate_hypercall with no arguments, as the guest kernel (CPL 0) makes it: the result as a
 * signed number (hypercall.ts has the model).
 */
export function kvm_emulate_hypercall(vm: KvmVm, vcpu: KvmVcpu, nr: number): number {
  vm.hooks.kvmTrace?.(vcpu.vcpu_id, TP_KVM_EXIT, EXIT_REASON_VMCALL, 0, 0, 0n, null);
  vm.hooks.kvmTrace?.(vcpu.vcpu_id, TP_KVM_HYPERCALL, 0, 0, 0, BigInt(nr), null);
  kvm_vmexit(vcpu);
  return Number(hypercall(vm, BigInt(nr), [0n, 0n, 0n, 0n]));
}
