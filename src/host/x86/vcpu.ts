// struct kvm_vcpu for x86, reduced to what async PF touches (x86-apf §2): architectural register state
// the host reads (IF, CPL, CR0.PG, CR3, guest mode), pending events, requests, the LAPIC, the APF state
// and the async-PF work pool. Plain mutable data: steps change it in place.
import { KVM_MP_STATE_RUNNABLE } from '../../abi/kvm.ts';
import type { GfnToHvaCache } from '../../mem/hva_cache.ts';
import { newHvaCache } from '../../mem/hva_cache.ts';
import { type GfnHash, newGfnHash } from './async_pf_hash.ts';
import { type AsyncPfState, newAsyncPfState } from './async_pf_work.ts';
import { type KvmLapic, newLapic } from './lapic.ts';
import { type KvmVcpuPv, newVcpuPv } from './pv_state.ts';

/** vcpu->arch.apf (x86-apf §2.1). */
export interface KvmVcpuApf {
  halted: boolean;
  gfns: GfnHash;
  data: GfnToHvaCache;
  /** MSR_KVM_ASYNC_PF_EN as last committed. Write it only through `set_msr_en_val`. */
  msr_en_val: bigint;
  /** Bits 5:0 of msr_en_val as a number, kept by `set_msr_en_val` so hot paths avoid bigint math. */
  msr_en_flags: number;
  /** MSR_KVM_ASYNC_PF_INT. */
  msr_int_val: bigint;
  vec: number;
  /** Token counter; never reset. */
  id: number;
  /** Cached EN bit 1 (≤6.14 `send_user_only`, inverted). Stale after disable/INIT until 2026. */
  send_always: boolean;
  /** Cached EN bit 2. */
  delivery_as_pf_vmexit: boolean;
  pageready_pending: boolean;
  /**
   * Only with the `present-queued-barrier` bug: the ACK handler's store of pageready_pending = false
   * still sits in the vCPU's store buffer (it becomes visible at the vCPU's next VM exit, or when a
   * scheduler drains it), so the worker may read the stale true.
   */
  pageready_pending_store_buffered: boolean;
  /** Used only when this KVM runs as an L1 guest. */
  host_apf_flags: number;
}

/** A pending (queued, not yet injected) exception: kvm_queue_exception_*. */
export interface PendingException {
  pending: boolean;
  /** Injected into the guest but the entry must re-inject it (kvm_event_needs_reinjection). */
  injected: boolean;
  vector: number;
  error_code: number;
  has_payload: boolean;
  /** For #PF: the CR2 value to set at delivery. */
  payload: number;
  /** Deliver as a #PF VM-exit to L1 (nested APF). */
  vmexit: boolean;
}

/** vcpu->mode: whether the vCPU is executing guest code, so that requests wait for an exit or a kick. */
export const OUTSIDE_GUEST_MODE = 0;
export const IN_GUEST_MODE = 1;
export const EXITING_GUEST_MODE = 2;

export interface KvmVcpu {
  readonly vcpu_id: number;
  /**
   * OUTSIDE_GUEST_MODE, IN_GUEST_MODE or EXITING_GUEST_MODE. Requests and injectable events are only
   * acted on at VM entry; a vCPU in guest mode gets there through an exit of its own or a kick.
   */
  mode: number;
  mp_state: number;
  /** KVM_REQ_* bits. */
  requests: number;
  // Architectural state the host looks at.
  rflags_if: boolean;
  /** STI / MOV SS shadow: interrupts are blocked for one more instruction. */
  interrupt_shadow: boolean;
  cpl: number;
  cr0_pg: boolean;
  cr2: number;
  cr3: number;
  /** Running a nested guest (L2). */
  guest_mode: boolean;
  /** In System Management Mode (entered by an SMI, left by RSM): HF_SMM_MASK. */
  smm: boolean;
  /** What enter_smm saved in the SMRAM state-save area and RSM restores (smm.ts). */
  readonly smram: Smram;
  readonly exception: PendingException;
  /** An IRQ or NMI injection awaits re-injection (event_needs_reinjection). */
  irq_reinject: boolean;
  readonly apic: KvmLapic;
  readonly apf: KvmVcpuApf;
  /** kvmclock, steal time, PV EOI and poll control (pv_state.ts). */
  readonly pv: KvmVcpuPv;
  readonly async_pf: AsyncPfState;
  /** The vCPU thread is blocked in a synchronous host fault-in of this gfn (-1: not blocked). */
  sync_fault_gfn: number;
  /**
   * A notifier-aware fault between its GUP and its mmu_lock section (mmu_fault.ts, split faults): the
   * gfn (-1: none), the mmu_invalidate_seq snapshot, and FAULT_* flags.
   */
  mmu_fault_gfn: number;
  mmu_fault_seq: number;
  mmu_fault_flags: number;
  /** The gfn of the vCPU's last fault sent back as stale, until a fault completes (-1: none). */
  mmu_retry_gfn: number;
  /** The vCPU is outside KVM_RUN (its VMM thread is in userspace): nothing runs on it. */
  in_userspace: boolean;
  readonly stat: VcpuStats;
}

/** The part of the SMRAM state-save area that async PF depends on: CR0.PG, RFLAGS.IF and the CPL. */
export interface Smram {
  cr0_pg: boolean;
  rflags_if: boolean;
  cpl: number;
  /**
   * The SMM handler is firmware, modelled as its final RSM alone: the vCPU's next instruction in SMM is
   * RSM (run_loop.ts). False when a test guest's own ops are the handler (the bare guest's `smi` op).
   */
  firmware: boolean;
}

export interface VcpuStats {
  /** Guest page faults KVM's MMU handled (EPT/NPT violations, shadow #PF intercepts), prefetches not. */
  pf_taken: number;
  pf_guest: number;
  pf_fixed: number;
  apf_halts: number;
  sync_faults: number;
  page_ready_irqs: number;
  kicks: number;
  /** Faults that is_page_fault_stale (or the 6.8 pre-check) sent back to the guest to retry. */
  pf_retry_stale: number;
}

export function newVcpu(vcpu_id: number): KvmVcpu {
  return {
    vcpu_id,
    mode: OUTSIDE_GUEST_MODE,
    mp_state: KVM_MP_STATE_RUNNABLE,
    requests: 0,
    rflags_if: false,
    interrupt_shadow: false,
    cpl: 0,
    cr0_pg: true,
    cr2: 0,
    cr3: 0,
    guest_mode: false,
    smm: false,
    smram: { cr0_pg: false, rflags_if: false, cpl: 0, firmware: false },
    exception: {
      pending: false,
      injected: false,
      vector: 0,
      error_code: 0,
      has_payload: false,
      payload: 0,
      vmexit: false,
    },
    irq_reinject: false,
    apic: newLapic(vcpu_id === 0),
    apf: {
      halted: false,
      gfns: newGfnHash(),
      data: newHvaCache(),
      msr_en_val: 0n,
      msr_en_flags: 0,
      msr_int_val: 0n,
      vec: 0,
      id: 0,
      send_always: false,
      delivery_as_pf_vmexit: false,
      pageready_pending: false,
      pageready_pending_store_buffered: false,
      host_apf_flags: 0,
    },
    pv: newVcpuPv(),
    async_pf: newAsyncPfState(),
    sync_fault_gfn: -1,
    mmu_fault_gfn: -1,
    mmu_fault_seq: 0,
    mmu_fault_flags: 0,
    mmu_retry_gfn: -1,
    in_userspace: false,
    stat: {
      pf_taken: 0,
      pf_guest: 0,
      pf_fixed: 0,
      apf_halts: 0,
      sync_faults: 0,
      page_ready_irqs: 0,
      kicks: 0,
      pf_retry_stale: 0,
    },
  };
}

export const kvm_make_request = (vcpu: KvmVcpu, req: number): void => {
  vcpu.requests |= req;
};
/** @kernel kvm_check_request: test and clear. */
export function kvm_check_request(vcpu: KvmVcpu, req: number): boolean {
  if ((vcpu.requests & req) === 0) return false;
  vcpu.requests &= ~req;
  return true;
}

/** Commits MSR_KVM_ASYNC_PF_EN (and its numeric flag bits). */
export function set_msr_en_val(apf: KvmVcpuApf, v: bigint): void {
  apf.msr_en_val = v;
  apf.msr_en_flags = Number(v & 0x3fn);
}
