// The notifier-aware fault after GUP (mmu.md B.3.8 steps 2–4): the pfn held, then under mmu_lock the
// retry predicate and the SPTE install. Split from mmu_fault.ts so the async completion's prefault
// (kvm_arch_async_page_ready) can use it without an import cycle through the async-PF setup.
import {
  host_page_fault_in,
  host_pte_set_protnone,
  PAGE_HOST_PROTNONE,
  PAGE_HOST_RESIDENT,
  PAGE_HOST_RO,
  PAGE_KSM,
  PAGE_SPTE_MAPPED,
  spte_install_pfn,
} from '../../mem/page_state.ts';
import {
  FAULT_PFN_STALE,
  FAULT_PREFETCH,
  FAULT_ROOT_OBSOLETE,
  FAULT_SNAPSHOT,
  FAULT_WRITABLE,
  FAULT_WRITE,
} from './mmu_fault_flags.ts';
import { mmu_invalidate_retry_gfn, mmu_invalidate_retry_gfn_unsafe, RETRY_RANGE } from './mmu_notifier.ts';
import { host_mm_run, MM_COW } from './primary_mmu.ts';
import { REFAULT_CAP } from './step_effects.ts';
import type { KvmVcpu } from './vcpu.ts';
import type { KvmVm } from './vm.ts';

/** RET_PF_* values (mmu_fault.ts re-exports them). */
export const RET_PF_FIXED = 0;
export const RET_PF_RETRY = 1;
export const RET_PF_SYNC = 2;

/**
 * The seq snapshot (with its smp_rmb) and 6.8's lockless pre-check: returns the fault's flags with
 * FAULT_SNAPSHOT, or -1 when the pre-check already says retry. seq-snapshot-late defers the snapshot.
 */
export function mmu_fault_snapshot(vm: KvmVm, vcpu: KvmVcpu, gfn: number, flags: number): number {
  const era = vm.era.mmu;
  if (era.seqSnapshotLate) return flags;
  vcpu.mmu_fault_seq = vm.mmu.mmu_invalidate_seq;
  if (era.unsafePrecheck && mmu_invalidate_retry_gfn_unsafe(vm.mmuHost, vcpu.mmu_fault_seq, gfn)) {
    vm.mmu.stat.retry_unsafe++;
    vcpu.mmu_fault_flags = flags;
    staleRetry(vcpu, gfn);
    return -1;
  }
  return flags | FAULT_SNAPSHOT;
}

/**
 * hva_to_pfn found the page resident: a NUMA-hinting PTE takes its hinting fault (restored, no migration
 * here); a write to a KSM page breaks it (the host's COW, with its own invalidation); then the fault holds
 * the pfn and map_writable, and goes on to mmu_lock now or as the vCPU's next step.
 */
export function mmu_fault_resolved(vm: KvmVm, vcpu: KvmVcpu, gfn: number, flags: number): number {
  const st = vm.mem.pageState;
  if (st[gfn]! & PAGE_HOST_PROTNONE) {
    host_pte_set_protnone(st, gfn, false);
    vm.hooks.numaHintingFault?.(vcpu, gfn);
  }
  if (flags & FAULT_WRITE && st[gfn]! & PAGE_KSM) host_mm_run(vm, MM_COW, gfn, gfn + 1);
  const s = st[gfn]!;
  // A write to a page the host made read-only without KSM (mprotect) cannot be resolved: GUP fails and
  // KVM_RUN returns -EFAULT. The model maps it read-only; the guest's write then faults again.
  if ((s & PAGE_HOST_RO) === 0) flags |= FAULT_WRITABLE;
  vcpu.mmu_fault_flags = flags;
  if (vm.config.split_fault && (flags & FAULT_PREFETCH) === 0) {
    vcpu.mmu_fault_gfn = gfn;
    return RET_PF_SYNC;
  }
  return kvm_mmu_fault_locked(vm, vcpu, gfn);
}

/**
 * The part of the fault under mmu_lock (split faults: the `fault_lock` step): 6.8's second lockless
 * pre-check, then is_page_fault_stale with the era's predicate (≤5.11 count + seq, 5.12–6.7 hva range +
 * seq, 6.8+ gfn range + seq; from 5.16 an obsolete root too) → RET_PF_RETRY, the guest re-executes; else
 * the SPTE is installed from the pfn GUP returned.
 * @model the kernel has no function for exactly this part: it is the tail of direct_page_fault.
 */
export function kvm_mmu_fault_locked(vm: KvmVm, vcpu: KvmVcpu, gfn: number): number {
  const era = vm.era.mmu;
  let flags = vcpu.mmu_fault_flags;
  vcpu.mmu_fault_gfn = -1;
  if ((flags & FAULT_SNAPSHOT) === 0) {
    // seq-snapshot-late: the snapshot is taken only now, after the host lookup.
    vcpu.mmu_fault_seq = vm.mmu.mmu_invalidate_seq;
    flags |= FAULT_SNAPSHOT;
  }
  const seq = vcpu.mmu_fault_seq;
  if (era.unsafePrecheck && mmu_invalidate_retry_gfn_unsafe(vm.mmuHost, seq, gfn)) {
    vm.mmu.stat.retry_unsafe++;
    return staleRetry(vcpu, gfn);
  }
  if (!era.noRetryCheck) {
    // 5.16 (a955cad84cda): the root the fault would install into was made obsolete by a memslot update.
    if (era.obsoleteRoot && !era.noObsoleteRootCheck && flags & FAULT_ROOT_OBSOLETE) {
      vm.mmu.stat.retry_root++;
      return staleRetry(vcpu, gfn);
    }
    const r = mmu_invalidate_retry_gfn(vm.mmuHost, seq, gfn, era.seqAsInt);
    if (r !== 0) {
      if (r === RETRY_RANGE) vm.mmu.stat.retry_range++;
      else vm.mmu.stat.retry_seq++;
      return staleRetry(vcpu, gfn);
    }
  }
  if (flags & FAULT_ROOT_OBSOLETE) {
    // Into a root that a memslot update made obsolete (before 5.16, or root-vs-memslot-update): the SPTE
    // lands in a page table no vCPU will use again — the vCPU loads a new root before its next entry —
    // and that zapping has already passed (the leak a955cad84cda fixed). The guest re-executes the access
    // and faults again on the new root.
    vm.mmu.stat.obsolete_root_installs++;
    vcpu.mmu_fault_flags = 0;
    return RET_PF_RETRY;
  }
  const st = vm.mem.pageState;
  // The frame may be gone (reclaimed) or replaced since GUP: only a missed check installs it (stale).
  const stale = (flags & FAULT_PFN_STALE) !== 0 || (st[gfn]! & PAGE_HOST_RESIDENT) === 0;
  spte_install_pfn(st, gfn, (flags & FAULT_WRITABLE) !== 0, stale);
  vcpu.mmu_fault_flags = 0;
  if ((flags & FAULT_PREFETCH) === 0) vcpu.mmu_retry_gfn = -1;
  return RET_PF_FIXED;
}

/** is_page_fault_stale said retry: the guest re-executes the access (a stale prefault is just dropped). */
export function staleRetry(vcpu: KvmVcpu, gfn: number): number {
  const prefetch = (vcpu.mmu_fault_flags & FAULT_PREFETCH) !== 0;
  vcpu.mmu_fault_flags = 0;
  vcpu.mmu_fault_gfn = -1;
  if (!prefetch) {
    vcpu.mmu_retry_gfn = gfn;
    vcpu.stat.pf_retry_stale++;
  }
  return RET_PF_RETRY;
}

/**
 * The prefault of kvm_arch_async_page_ready through the notifier-aware path (kvm_mmu_do_page_fault with
 * prefetch): never async; a page evicted again meanwhile is faulted in at once. Returns RET_PF_FIXED when
 * it installed the SPTE (a stale prefault is dropped: the guest's own access faults again).
 */
export function kvm_mmu_prefault(vm: KvmVm, vcpu: KvmVcpu, gfn: number): boolean {
  const st = vm.mem.pageState;
  if (st[gfn]! & PAGE_SPTE_MAPPED) return true;
  const flags = mmu_fault_snapshot(vm, vcpu, gfn, FAULT_PREFETCH);
  if (flags < 0) return false;
  if ((st[gfn]! & PAGE_HOST_RESIDENT) === 0) {
    // Evicted again since its page-in: a blocking fault-in, recorded for the scheduler as without the
    // notifiers (kvm_arch_async_page_ready).
    const fx = vm.effects;
    if (fx.refaults < REFAULT_CAP) fx.refaultGfn[fx.refaults++] = gfn;
    host_page_fault_in(st, gfn);
  }
  return mmu_fault_resolved(vm, vcpu, gfn, flags) === RET_PF_FIXED;
}
