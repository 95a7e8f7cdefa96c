// The x86 half of async page faults (arch/x86/kvm/x86.c, mmu.c): the predicates P-EN, P-DELIVER, P-DO,
// P-FREE, P-DEQ (x86-apf §2.4), token allocation (§1.9), and the kvm_arch_* hooks that the generic code
// in async_pf.ts calls (§3.8, §3.9, §3.10).
import { KVM_MP_STATE_RUNNABLE } from '../../abi/kvm.ts';
import { APF_WAKEUP_ALL_TOKEN, KVM_REQ_APF_HALT, KVM_REQ_APF_READY, PF_VECTOR } from '../../abi/kvm_host.ts';
import {
  KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT,
  KVM_ASYNC_PF_SEND_ALWAYS,
  KVM_PV_REASON_PAGE_NOT_PRESENT,
  KVM_PV_REASON_PAGE_READY,
} from '../../abi/kvm_para.ts';
import {
  GHC_EINVAL,
  kvm_read_guest_offset_cached_u32,
  kvm_write_guest_offset_cached_u32,
} from '../../mem/hva_cache.ts';
import { host_page_fault_in_and_map, PAGE_HOST_RESIDENT } from '../../mem/page_state.ts';
import { kvm_add_async_pf_gfn, kvm_del_async_pf_gfn } from './async_pf_hash.ts';
import {
  type AsyncPfState,
  INVALID_GPA,
  W_DIRECT_MAP,
  W_NOTPRESENT_INJECTED,
  W_WAKEUP_ALL,
} from './async_pf_work.ts';
import { kvm_queue_exception_e_p } from './exception.ts';
import { kvm_apic_accept_irq, kvm_apic_enabled } from './lapic.ts';
import { kvm_mmu_prefault } from './mmu_install.ts';
import { REFAULT_CAP } from './step_effects.ts';
import { TP_KVM_ASYNC_PF_NOT_PRESENT, TP_KVM_ASYNC_PF_READY } from './trace.ts';
import { type KvmVcpu, kvm_make_request } from './vcpu.ts';
import { type KvmVm, kvm_vcpu_kick, lapic_in_kernel } from './vm.ts';

/** @kernel kvm_pv_async_pf_enabled (P-EN): bits 0 and 3 of MSR_KVM_ASYNC_PF_EN. */
export function kvm_pv_async_pf_enabled(vm: KvmVm, vcpu: KvmVcpu): boolean {
  const mask = vm.era.pvEnabledMask;
  return (vcpu.apf.msr_en_flags & mask) === mask;
}

/** SEND_ALWAYS as KVM sees it: the cached bool, or (2026) the live EN value. */
/** @model EN bit 1 read through the era's cache (the kernel keeps it as apf.send_user_only, inverted, up to 6.14). */
function apf_send_always(vm: KvmVm, vcpu: KvmVcpu): boolean {
  return vm.era.validateEnBeforeCommit
    ? (vcpu.apf.msr_en_flags & KVM_ASYNC_PF_SEND_ALWAYS) !== 0
    : vcpu.apf.send_always;
}

/** @model EN bit 2 read through the era's cache. */
function apf_delivery_as_pf_vmexit(vm: KvmVm, vcpu: KvmVcpu): boolean {
  return vm.era.validateEnBeforeCommit
    ? (vcpu.apf.msr_en_flags & KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT) !== 0
    : vcpu.apf.delivery_as_pf_vmexit;
}

/**
 * @kernel kvm_can_deliver_async_pf (P-DELIVER). In ≤5.7 the same test is written inline in
 * kvm_arch_async_page_not_present (x86-apf §5.1): enabled, and SEND_ALWAYS or CPL ≠ 0; the guest-mode
 * rule lives in kvm_can_do_async_pf there.
 */
export function kvm_can_deliver_async_pf_model(vm: KvmVm, vcpu: KvmVcpu): boolean {
  const era = vm.era;
  if (!kvm_pv_async_pf_enabled(vm, vcpu)) return false;
  if (
    !apf_send_always(vm, vcpu) &&
    ((era.protectedGuestRule && vm.config.guest_state_protected) || vcpu.cpl === 0)
  )
    return false;
  if (era.pageReady === 'pf') return true;
  if (vcpu.guest_mode) return apf_delivery_as_pf_vmexit(vm, vcpu);
  return era.deliverNeedsPaging ? vcpu.cr0_pg : true;
}

/** @kernel kvm_is_exception_pending */
export const kvm_is_exception_pending = (vcpu: KvmVcpu): boolean => vcpu.exception.pending;

/** @kernel kvm_event_needs_reinjection */
export const kvm_event_needs_reinjection = (vcpu: KvmVcpu): boolean =>
  vcpu.exception.injected || vcpu.irq_reinject;

/** @kernel kvm_arch_interrupt_allowed: IF=1 and no STI/MOV-SS shadow (GIF is always 1 here). */
export const kvm_arch_interrupt_allowed = (vcpu: KvmVcpu): boolean =>
  vcpu.rflags_if && !vcpu.interrupt_shadow;

/** @kernel kvm_can_do_async_pf (P-DO) */
export function kvm_can_do_async_pf_model(vm: KvmVm, vcpu: KvmVcpu): boolean {
  const era = vm.era;
  if (!lapic_in_kernel(vm) || kvm_event_needs_reinjection(vcpu)) return false;
  if (era.canDoChecksPendingException && kvm_is_exception_pending(vcpu)) return false;
  // 52a5c155cf79 (4.15–5.7): without DELIVERY_AS_PF_VMEXIT, no async PF at all while L2 runs.
  if (era.pageReady === 'pf' && era.hasPfVmexit && vcpu.guest_mode && !apf_delivery_as_pf_vmexit(vm, vcpu))
    return false;
  if (era.hltInGuestRule && vm.config.hlt_in_guest && !kvm_can_deliver_async_pf(vm, vcpu)) return false;
  // If interrupts are off we cannot even use an artificial halt state.
  return kvm_arch_interrupt_allowed(vcpu);
}

/** @kernel apf_pageready_slot_free (P-FREE): a failed read counts as busy. */
export function apf_pageready_slot_free_model(vm: KvmVm, vcpu: KvmVcpu): boolean {
  return apf_read_cached(vm, vcpu, 4) === 0;
}

/**
 * A cached access to the APF area against the VM's current memslots (a stale cache re-initializes from
 * the range it keeps): ≥ 0 is the value read (or 0 for a write done), < 0 a failure. Only an access past
 * the cache's `len` WARNs: a cache never initialized (len 0) with pv "enabled", which quirk Q-EN-1 allows
 * after a failed first enable (≤6.17) — syzbot "WARNING in kvm_read_guest_offset_cached"
 * (bc0e18379a290e5edfe4). An error hva (a failed re-enable keeps len 8) fails quietly (x86-apf §6.1-17).
 */
function apf_read_cached(vm: KvmVm, vcpu: KvmVcpu, offset: number): number {
  const r = kvm_read_guest_offset_cached_u32(
    vm.mem,
    vm.mmu,
    vcpu.apf.data,
    offset,
    vm.era.ghcKeepsRangeOnFailure,
  );
  if (r === GHC_EINVAL) warnCacheOverrun(vm, vcpu);
  return r;
}

/** The write half of apf_read_cached: true when written. */
function apf_write_cached(vm: KvmVm, vcpu: KvmVcpu, offset: number, value: number): boolean {
  const r = kvm_write_guest_offset_cached_u32(
    vm.mem,
    vm.mmu,
    vcpu.apf.data,
    offset,
    value,
    vm.era.ghcKeepsRangeOnFailure,
  );
  if (r === GHC_EINVAL) warnCacheOverrun(vm, vcpu);
  return r === 0;
}

/** WARN_ON_ONCE(offset + len > ghc->len) in the cached accessors (a BUG_ON before 5f25e71e3114, 5.16). */
function warnCacheOverrun(vm: KvmVm, vcpu: KvmVcpu): void {
  vm.hooks.warn?.(vcpu, 'WARNING in kvm_read_guest_offset_cached');
}

/** @kernel kvm_lapic_enabled: in-kernel, hardware- and software-enabled. */
export const kvm_lapic_enabled = (vm: KvmVm, vcpu: KvmVcpu): boolean =>
  lapic_in_kernel(vm) && kvm_apic_enabled(vcpu.apic);

/**
 * @kernel kvm_arch_can_dequeue_async_page_present (P-DEQ; the LAPIC part is 2f15d027c05f). In ≤5.7,
 * kvm_arch_can_inject_async_page_present: the 'page ready' #PF needs the same conditions as any async
 * PF injection (IF = 1, nothing pending).
 */
export function kvm_arch_can_dequeue_async_page_present_model(vm: KvmVm, vcpu: KvmVcpu): boolean {
  if (!kvm_pv_async_pf_enabled(vm, vcpu)) return true;
  if (vm.era.pageReady === 'pf') return kvm_can_do_async_pf(vm, vcpu);
  return (!vm.era.lapicDequeueGate || kvm_lapic_enabled(vm, vcpu)) && apf_pageready_slot_free(vm, vcpu);
}

/**
 * @kernel alloc_apf_token (mmu.c): (id++ << 12) | vcpu_id in u32 arithmetic, with id reset to 1 whenever
 * (id << 12) would be 0, so a token is never 0 (6f3c1fc53d86). x86-apf §1.9
 */
export function alloc_apf_token_model(vm: KvmVm, vcpu: KvmVcpu): number {
  if (vm.era.tokenNonZero && (vcpu.apf.id << 12) >>> 0 === 0) vcpu.apf.id = 1;
  const token = ((vcpu.apf.id << 12) | vcpu.vcpu_id) >>> 0;
  vcpu.apf.id = (vcpu.apf.id + 1) >>> 0;
  return token;
}

/** @kernel apf_put_user_notpresent: flags@0 := KVM_PV_REASON_PAGE_NOT_PRESENT. */
const apf_put_user_notpresent = (vm: KvmVm, vcpu: KvmVcpu): boolean =>
  apf_write_cached(vm, vcpu, 0, KVM_PV_REASON_PAGE_NOT_PRESENT);

/** @kernel apf_put_user_ready: token@4 := token. */
const apf_put_user_ready = (vm: KvmVm, vcpu: KvmVcpu, token: number): boolean =>
  apf_write_cached(vm, vcpu, 4, token);

/**
 * @kernel kvm_arch_async_page_not_present (x86-apf §3.8): inject the 'not present' #PF (or the #PF
 * VM-exit to L1), or fall back to the artificial halt. Returns notpresent_injected.
 */
export function kvm_arch_async_page_not_present_model(vm: KvmVm, vcpu: KvmVcpu, slot: number): boolean {
  const w = vcpu.async_pf;
  const token = w.wToken[slot]!;
  vm.hooks.trace?.(vcpu.vcpu_id, TP_KVM_ASYNC_PF_NOT_PRESENT, token, w.wCr2OrGpa[slot]!);
  kvm_add_async_pf_gfn(vcpu.apf.gfns, w.wGfn[slot]!);
  if (kvm_can_deliver_async_pf(vm, vcpu)) {
    if (apf_put_user_notpresent(vm, vcpu)) {
      kvm_inject_async_page_fault(vcpu, token);
      vcpu.stat.pf_guest++;
      return true;
    }
    // ≤5.7: a failed write of `reason` does nothing at all — no halt, no #PF (x86-apf §5.1).
    if (vm.era.pageReady === 'pf') return false;
  }
  kvm_make_request(vcpu, KVM_REQ_APF_HALT);
  return false;
}

/**
 * @kernel kvm_inject_page_fault with fault.async_page_fault: a pending #PF with error code 0 whose
 * payload sets CR2 = token at delivery; in guest mode, always a #PF VM-exit to L1.
 */
function kvm_inject_async_page_fault(vcpu: KvmVcpu, token: number): void {
  kvm_queue_exception_e_p(vcpu, PF_VECTOR, 0, token, vcpu.guest_mode);
}

/**
 * @kernel kvm_arch_async_page_present_queued: the first item landed on an empty `done`. The barrier
 * between the request and reading pageready_pending pairs with the ACK handler's smp_store_mb
 * (68c35f89d016).
 */
export function kvm_arch_async_page_present_queued_model(vm: KvmVm, vcpu: KvmVcpu): void {
  // ≤5.7 had no such hook: completion was polled on every run-loop iteration.
  if (vm.era.completionPolled) return;
  kvm_make_request(vcpu, KVM_REQ_APF_READY);
  if (!vcpu.apf.pageready_pending) kvm_vcpu_kick(vm, vcpu);
}

/**
 * @kernel kvm_arch_async_page_ready (x86-apf §3.10 step 2): replay the fault as a prefetch so the page
 * is mapped before the guest retries. Skipped for wakeup-all, after an MMU-mode change, or (shadow
 * paging) when the guest switched CR3. A prefetch is never async: a page evicted again meanwhile is
 * faulted in synchronously, which the model treats as immediate.
 */
export function kvm_arch_async_page_ready_model(vm: KvmVm, vcpu: KvmVcpu, slot: number): void {
  const w = vcpu.async_pf;
  const f = w.wFlags[slot]!;
  if (f & W_WAKEUP_ALL) return;
  const direct = vm.config.tdp && !vcpu.guest_mode;
  if (direct !== ((f & W_DIRECT_MAP) !== 0)) return;
  if (!direct && w.wCr3[slot] !== vcpu.cr3) return;
  const gfn = w.wGfn[slot]!;
  if (gfn >= vm.mem.npages) return;
  const fx = vm.effects;
  if (vm.config.mmu_notifiers) {
    // kvm_mmu_do_page_fault(prefetch): the same notifier-aware path; a stale prefault is dropped.
    if (kvm_mmu_prefault(vm, vcpu, gfn)) {
      vcpu.stat.pf_fixed++;
      fx.fixed++;
    }
    return;
  }
  if ((vm.mem.pageState[gfn]! & PAGE_HOST_RESIDENT) === 0 && fx.refaults < REFAULT_CAP)
    fx.refaultGfn[fx.refaults++] = gfn; // evicted again since its page-in: a blocking fault-in
  host_page_fault_in_and_map(vm.mem.pageState, gfn);
  vcpu.stat.pf_fixed++;
  fx.fixed++;
}

/**
 * @kernel kvm_arch_async_page_present (x86-apf §3.10 step 3): notify the guest with the token and the
 * page-ready interrupt, but only for an injected 'not present' or a wakeup-all (2a18b7e7cd88), and
 * always end any halt.
 */
export function kvm_arch_async_page_present_model(vm: KvmVm, vcpu: KvmVcpu, slot: number): void {
  const w = vcpu.async_pf;
  const f = w.wFlags[slot]!;
  const wakeup_all = (f & W_WAKEUP_ALL) !== 0;
  let token: number;
  if (wakeup_all) token = APF_WAKEUP_ALL_TOKEN;
  else {
    token = w.wToken[slot]!;
    kvm_del_async_pf_gfn(vcpu.apf.gfns, w.wGfn[slot]!);
  }
  vm.hooks.trace?.(vcpu.vcpu_id, TP_KVM_ASYNC_PF_READY, token, wakeup_all ? 0 : w.wCr2OrGpa[slot]!);
  const notify = wakeup_all || (f & W_NOTPRESENT_INJECTED) !== 0;
  if (vm.era.pageReady === 'pf') {
    if (kvm_arch_async_page_present_legacy(vm, vcpu, token)) vm.hooks.pageReadySent?.(vcpu, token, 0, notify);
  } else if ((notify || !vm.era.notpresentInjectedFilter) && kvm_pv_async_pf_enabled(vm, vcpu)) {
    const observed = vm.hooks.pageReadySent;
    const slotBefore = observed ? peekTokenSlot(vm, vcpu) : 0;
    if (apf_put_user_ready(vm, vcpu, token)) {
      vcpu.apf.pageready_pending = true;
      vcpu.apf.pageready_pending_store_buffered = false; // program order: this store is the later one
      kvm_apic_accept_irq(vm, vcpu, vcpu.apf.vec);
      vcpu.stat.page_ready_irqs++;
      observed?.(vcpu, token, slotBefore, notify);
    }
  }
  vcpu.apf.halted = false;
  vcpu.mp_state = KVM_MP_STATE_RUNNABLE;
}

/**
 * ≤5.7 (x86-apf §5.1): 'page ready' is a #PF with `reason` = 2 and CR2 = token, sent for every item
 * (no notpresent_injected filter). 4.15–5.7 (9a6e7c39810e): if a 'not present' is still unconsumed
 * (reason = 1) while a #PF is pending, both are dropped — without checking that the tokens match.
 */
/** @model kvm_arch_async_page_present as ≤5.7 kernels wrote it (#PF page-ready); true when it sent one. */
function kvm_arch_async_page_present_legacy(vm: KvmVm, vcpu: KvmVcpu, token: number): boolean {
  if (!kvm_pv_async_pf_enabled(vm, vcpu)) return false;
  const reason = apf_read_cached(vm, vcpu, 0);
  if (reason < 0) return false;
  const e = vcpu.exception;
  if (vm.era.dfFix && reason === KVM_PV_REASON_PAGE_NOT_PRESENT && e.pending && e.vector === PF_VECTOR) {
    apf_write_cached(vm, vcpu, 0, 0);
    e.pending = false;
    e.injected = false;
    e.vector = 0;
    e.error_code = 0;
    e.has_payload = false;
    return false;
  }
  if (apf_write_cached(vm, vcpu, 0, KVM_PV_REASON_PAGE_READY)) {
    // In guest mode kvm_inject_page_fault marks an async #PF nested_apf: a #PF VM-exit to L1 (4.15+).
    kvm_queue_exception_e_p(vcpu, PF_VECTOR, 0, token, vcpu.guest_mode);
    vcpu.stat.page_ready_irqs++;
    return true;
  }
  return false;
}

/** What the token slot holds before a page-ready write (for the pageReadySent hook only). */
function peekTokenSlot(vm: KvmVm, vcpu: KvmVcpu): number {
  const d = vcpu.apf.data;
  // Only called for a write that then succeeds, which goes to the cache's gpa (kept, or re-initialized
  // from the kept range after a memslot update).
  return d.len >= 8 && vm.mem.contains(d.gpa + 4, 4) ? vm.mem.readU32(d.gpa + 4) : 0;
}

/** Fills the arch part of a new work (kvm_arch_setup_async_pf). */
export function fill_arch_async_pf(
  vm: KvmVm,
  vcpu: KvmVcpu,
  w: AsyncPfState,
  slot: number,
  token: number,
  gfn: number,
  errorCode: number,
): void {
  w.wToken[slot] = token;
  w.wGfn[slot] = gfn;
  w.wErrorCode[slot] = errorCode;
  const direct = vm.config.tdp && !vcpu.guest_mode;
  if (direct) w.wFlags[slot] = w.wFlags[slot]! | W_DIRECT_MAP;
  w.wCr3[slot] = direct ? INVALID_GPA : vcpu.cr3;
}

// The hookable functions (kernel_fns.ts): each runs its model body above, or the variants' version.

/** kvm_can_deliver_async_pf, or a variant's version of it (kernel_fns.ts) when the era has a table. */
export function kvm_can_deliver_async_pf(vm: KvmVm, vcpu: KvmVcpu): boolean {
  const k = vm.era.kfn;
  return k === null ? kvm_can_deliver_async_pf_model(vm, vcpu) : k.kvm_can_deliver_async_pf(vm, vcpu);
}

/** kvm_can_do_async_pf, or a variant's version of it (kernel_fns.ts) when the era has a table. */
export function kvm_can_do_async_pf(vm: KvmVm, vcpu: KvmVcpu): boolean {
  const k = vm.era.kfn;
  return k === null ? kvm_can_do_async_pf_model(vm, vcpu) : k.kvm_can_do_async_pf(vm, vcpu);
}

/** apf_pageready_slot_free, or a variant's version of it (kernel_fns.ts) when the era has a table. */
export function apf_pageready_slot_free(vm: KvmVm, vcpu: KvmVcpu): boolean {
  const k = vm.era.kfn;
  return k === null ? apf_pageready_slot_free_model(vm, vcpu) : k.apf_pageready_slot_free(vm, vcpu);
}

/** kvm_arch_can_dequeue_async_page_present, or a variant's version of it (kernel_fns.ts) when the era has a table. */
export function kvm_arch_can_dequeue_async_page_present(vm: KvmVm, vcpu: KvmVcpu): boolean {
  const k = vm.era.kfn;
  return k === null
    ? kvm_arch_can_dequeue_async_page_present_model(vm, vcpu)
    : k.kvm_arch_can_dequeue_async_page_present(vm, vcpu);
}

/** alloc_apf_token, or a variant's version of it (kernel_fns.ts) when the era has a table. */
export function alloc_apf_token(vm: KvmVm, vcpu: KvmVcpu): number {
  const k = vm.era.kfn;
  return k === null ? alloc_apf_token_model(vm, vcpu) : k.alloc_apf_token(vm, vcpu);
}

/** kvm_arch_async_page_not_present, or a variant's version of it (kernel_fns.ts) when the era has a table. */
export function kvm_arch_async_page_not_present(vm: KvmVm, vcpu: KvmVcpu, slot: number): boolean {
  const k = vm.era.kfn;
  return k === null
    ? kvm_arch_async_page_not_present_model(vm, vcpu, slot)
    : k.kvm_arch_async_page_not_present(vm, vcpu, slot);
}

/** kvm_arch_async_page_ready, or a variant's version of it (kernel_fns.ts) when the era has a table. */
export function kvm_arch_async_page_ready(vm: KvmVm, vcpu: KvmVcpu, slot: number): void {
  const k = vm.era.kfn;
  if (k === null) kvm_arch_async_page_ready_model(vm, vcpu, slot);
  else k.kvm_arch_async_page_ready(vm, vcpu, slot);
}

/** kvm_arch_async_page_present, or a variant's version of it (kernel_fns.ts) when the era has a table. */
export function kvm_arch_async_page_present(vm: KvmVm, vcpu: KvmVcpu, slot: number): void {
  const k = vm.era.kfn;
  if (k === null) kvm_arch_async_page_present_model(vm, vcpu, slot);
  else k.kvm_arch_async_page_present(vm, vcpu, slot);
}

/** kvm_arch_async_page_present_queued, or a variant's version of it (kernel_fns.ts) when the era has a table. */
export function kvm_arch_async_page_present_queued(vm: KvmVm, vcpu: KvmVcpu): void {
  const k = vm.era.kfn;
  if (k === null) kvm_arch_async_page_present_queued_model(vm, vcpu);
  else k.kvm_arch_async_page_present_queued(vm, vcpu);
}
