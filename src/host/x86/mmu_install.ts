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
  kvm_mmu_alloc_levels,
  kvm_mmu_load,
  kvm_mmu_root_loaded,
  kvm_mmu_topup_vcpu,
  type MmuCachesVm,
  mmu_lock,
} from './mmu_caches_vm.ts';
import {
  FAULT_PFN_STALE,
  FAULT_PREFETCH,
  FAULT_ROOT_OBSOLETE,
  FAULT_SNAPSHOT,
  FAULT_WRITABLE,
  FAULT_WRITE,
} from './mmu_fault_flags.ts';
import {
  do_huge_pmd_numa_page,
  host_pfn_mapping_level,
  kvm_mmu_hugepage_adjust,
  kvm_mmu_map_huge,
  PG_LEVEL_2M,
} from './mmu_hugepage.ts';
import { mmu_invalidate_retry_gfn, mmu_invalidate_retry_gfn_unsafe, RETRY_RANGE } from './mmu_notifier.ts';
import { host_mm_run, MM_COW } from './primary_mmu.ts';
import { REFAULT_CAP } from './step_effects.ts';
import { type KvmVcpu, OUTSIDE_GUEST_MODE } from './vcpu.ts';
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
    const thp = vm.mmuHost.thp;
    if (thp !== null && host_pfn_mapping_level(thp, gfn) === PG_LEVEL_2M) do_huge_pmd_numa_page(st, gfn);
    else host_pte_set_protnone(st, gfn, false);
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
  const m = vm.memcache;
  if (m === null) return fault_locked(vm, vcpu, gfn, null);
  mmu_lock(m);
  const r = fault_locked(vm, vcpu, gfn, m);
  m.mmu_lock_held = false;
  return r;
}

function fault_locked(vm: KvmVm, vcpu: KvmVcpu, gfn: number, m: MmuCachesVm | null): number {
  const era = vm.era.mmu;
  // topup-under-mmu-lock (a what-if): the topup runs here, where its GFP_KERNEL allocations may sleep.
  if (m?.topupUnderLock) {
    if (!mmu_fault_topup(vm, vcpu, m, (vcpu.mmu_fault_flags & FAULT_PREFETCH) !== 0)) return RET_PF_RETRY;
  }
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
  vm.effects.mmuLocked++;
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
    // The walk below the obsolete root allocates every level again (its tables were zapped); they are
    // freed with that root.
    if (m !== null) kvm_mmu_alloc_levels(m, vcpu.vcpu_id, gfn, true);
    vcpu.mmu_fault_flags = 0;
    return RET_PF_RETRY;
  }
  const st = vm.mem.pageState;
  // The frame may be gone (reclaimed) or replaced since GUP: only a missed check installs it (stale).
  const stale = (flags & FAULT_PFN_STALE) !== 0 || (st[gfn]! & PAGE_HOST_RESIDENT) === 0;
  // The paging levels the SPTE needs, from the caches (a BUG here kills the host: nothing is installed).
  if (m !== null && !kvm_mmu_alloc_levels(m, vcpu.vcpu_id, gfn, false)) {
    vcpu.mmu_fault_flags = 0;
    return RET_PF_RETRY;
  }
  const thp = vm.mmuHost.thp;
  // With THP: a range the host maps huge is mapped by one 2 MiB SPTE (kvm_mmu_hugepage_adjust).
  if (thp !== null && !stale && kvm_mmu_hugepage_adjust(thp, vm.mmu.slot_base, gfn) === PG_LEVEL_2M)
    kvm_mmu_map_huge(st, thp, gfn, (flags & FAULT_WRITABLE) !== 0);
  else spte_install_pfn(st, gfn, (flags & FAULT_WRITABLE) !== 0, stale);
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
  const m = vm.memcache;
  // kvm_arch_async_page_ready: kvm_mmu_reload first; then the fault with the era's topup placement.
  if (m !== null) {
    if (!kvm_mmu_reload(vm, vcpu, m, true)) return false;
    if (m.era.topupBeforeFastPageFault && !m.topupUnderLock && !mmu_fault_topup(vm, vcpu, m, true))
      return false;
  }
  if (st[gfn]! & PAGE_SPTE_MAPPED) return true;
  if (
    m !== null &&
    !m.era.topupBeforeFastPageFault &&
    !m.topupUnderLock &&
    !mmu_fault_topup(vm, vcpu, m, true)
  )
    return false;
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

// ---- The memory caches on the fault path (vm.memcache; mmu.md A.5.6) ----

/**
 * KVM_RUN returns `errno` (negative) to the VMM: the fault (or kvm_mmu_reload at entry) failed, the vCPU
 * thread is back in user space with the guest instruction not completed. What the VMM does next is the
 * scheduler's (the script runner reports it and goes on; the explorer stops the VM, as QEMU's vm_stop on a
 * KVM_RUN error). Returns RET_PF_RETRY for the fault handler's caller.
 */
export function kvm_run_failed(vm: KvmVm, vcpu: KvmVcpu, errno: number): number {
  const m = vm.memcache!;
  m.run_error[vcpu.vcpu_id] = errno;
  m.stat.kvm_run_errors++;
  vcpu.mmu_fault_flags = 0;
  vcpu.mmu_fault_gfn = -1;
  vcpu.mode = OUTSIDE_GUEST_MODE;
  vcpu.in_userspace = true;
  vm.hooks.kvmRunError?.(vcpu, errno);
  return RET_PF_RETRY;
}

/**
 * mmu_topup_memory_caches for a fault (or kvm_mmu_load for a vCPU whose root a memslot update freed: the
 * kick of KVM_REQ_MMU_FREE_OBSOLETE_ROOTS made it exit and reload first). False when the fault ends here:
 * KVM_RUN returns the error (a prefetch just gives up: kvm_arch_async_page_ready ignores it), or the
 * host died of a BUG.
 */
export function mmu_fault_topup(vm: KvmVm, vcpu: KvmVcpu, m: MmuCachesVm, prefetch: boolean): boolean {
  const r = kvm_mmu_topup_vcpu(m, vcpu.vcpu_id);
  if (r === 0) return true;
  if (!prefetch) kvm_run_failed(vm, vcpu, r);
  else vcpu.mmu_fault_flags = 0;
  return false;
}

/** kvm_mmu_reload: load a root if the vCPU has none. False: KVM_RUN fails (or, for a prefetch, gives up). */
export function kvm_mmu_reload(vm: KvmVm, vcpu: KvmVcpu, m: MmuCachesVm, prefetch: boolean): boolean {
  if (kvm_mmu_root_loaded(m, vcpu.vcpu_id)) return true;
  const r = kvm_mmu_load(m, vcpu.vcpu_id);
  if (r !== 0 && !prefetch) kvm_run_failed(vm, vcpu, r);
  return r === 0 && m.bug === null;
}
