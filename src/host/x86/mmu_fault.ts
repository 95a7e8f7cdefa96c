// The async-or-sync decision of a guest memory fault (x86-apf §3.6): kvm_mmu_do_page_fault reaching
// __kvm_mmu_faultin_pfn for a page whose host copy is not resident.
import { KVM_REQ_APF_HALT } from '../../abi/kvm_host.ts';
import { gpaToGfn } from '../../mem/guest_memory.ts';
import {
  host_page_fault_in,
  host_page_fault_in_and_map,
  PAGE_HOST_RESIDENT,
  PAGE_HOST_RO,
  PAGE_KSM,
  PAGE_SPTE_MAPPED,
  PAGE_SPTE_RO,
  spte_guest_access,
  spte_install,
  spte_make_writable,
  spte_mark_young,
} from '../../mem/page_state.ts';
import { alloc_apf_token, kvm_can_do_async_pf } from './apf.ts';
import { kvm_setup_async_pf } from './async_pf.ts';
import { kvm_find_async_pf_gfn } from './async_pf_hash.ts';
import { FAULT_WRITE } from './mmu_fault_flags.ts';
import {
  kvm_mmu_prefault,
  kvm_mmu_reload,
  mmu_fault_resolved,
  mmu_fault_snapshot,
  mmu_fault_topup,
  staleRetry,
} from './mmu_install.ts';
import {
  EXIT_REASON_EPT_VIOLATION,
  TP_KVM_ASYNC_PF_REPEATED_FAULT,
  TP_KVM_EXIT,
  TP_KVM_TRY_ASYNC_GET_PAGE,
} from './trace.ts';
import { type KvmVcpu, kvm_make_request } from './vcpu.ts';
import type { KvmVm } from './vm.ts';
import { kvm_vmexit } from './x86.ts';

const PFERR_WRITE_MASK = 2;

/**
 * RET_PF_*: what the fault handler tells the run loop. RET_PF_FIXED; RET_PF_RETRY: the instruction did
 * not complete (a #PF may be queued, APF_HALT requested, or the fault was stale); RET_PF_SYNC: the vCPU
 * thread is still in the host, in a synchronous fault-in (hooks.syncFault) or, for split faults, before
 * its mmu_lock section (the `fault_lock` step); it resumes later.
 */
export { RET_PF_FIXED, RET_PF_RETRY, RET_PF_SYNC } from './mmu_install.ts';

import { RET_PF_FIXED, RET_PF_RETRY, RET_PF_SYNC } from './mmu_install.ts';
/** No memslot: the access is MMIO (emulated; not modelled further). */
export const RET_PF_MMIO = 3;
export type RetPf = typeof RET_PF_FIXED | typeof RET_PF_RETRY | typeof RET_PF_SYNC | typeof RET_PF_MMIO;

/**
 * @model The guest's access to `gfn` goes through a present SPTE, without an exit (the hardware's walk:
 * page_state.ts spte_guest_access, which also sets the accessed bit). A retried access that gets through
 * this way (another vCPU installed the SPTE meanwhile) has completed: fault-progress's mark is cleared.
 */
export function kvm_guest_access_spte(vm: KvmVm, vcpu: KvmVcpu, gfn: number, write: boolean): boolean {
  if (gfn >= vm.mem.npages || !spte_guest_access(vm.mem.pageState, gfn, write)) return false;
  if (vcpu.mmu_retry_gfn === gfn) vcpu.mmu_retry_gfn = -1;
  return true;
}

/**
 * @kernel kvm_mmu_do_page_fault → __kvm_mmu_faultin_pfn (x86-apf §3.6). `addr` is the faulting address
 * (a GPA under TDP, a GVA under shadow paging; the bare guests identity-map, so gfn = addr >> 12).
 */
export function kvm_mmu_do_page_fault(
  vm: KvmVm,
  vcpu: KvmVcpu,
  addr: number,
  errorCode: number,
  prefetch: boolean,
): RetPf {
  if (!prefetch) {
    // An EPT violation; its qualification: bit 1 write or bit 0 read, bits 7-8 (a guest-linear access).
    vm.hooks.kvmTrace?.(
      vcpu.vcpu_id,
      TP_KVM_EXIT,
      EXIT_REASON_EPT_VIOLATION,
      errorCode & 2 ? 0x182 : 0x181,
      0,
      0n,
      null,
    );
    kvm_vmexit(vcpu); // an EPT/NPT violation (or a #PF intercept under shadow paging)
    vcpu.stat.pf_taken++;
  }
  const gfn = gpaToGfn(addr);
  if (gfn >= vm.mem.npages) return RET_PF_MMIO;
  const zs = vm.mmuHost.zapSource;
  if (zs !== null && !prefetch && zs[gfn] !== 0) {
    vm.effects.refaultSrc = zs[gfn]! - 1;
    zs[gfn] = 0;
  }
  if (vm.config.mmu_notifiers) {
    // A prefetch (the async completion's prefault) is kvm_mmu_prefault: never async, never parked.
    if (prefetch) return kvm_mmu_prefault(vm, vcpu, gfn) ? RET_PF_FIXED : RET_PF_RETRY;
    return direct_page_fault(vm, vcpu, addr, gfn, errorCode);
  }
  const st = vm.mem.pageState;
  if (st[gfn]! & PAGE_HOST_RESIDENT) {
    // The non-blocking GUP found the page: map it.
    spte_install(st, gfn);
    return RET_PF_FIXED;
  }
  return kvm_faultin_needs_io(vm, vcpu, addr, gfn, errorCode, prefetch);
}

/**
 * KVM_PFN_ERR_NEEDS_IO, the async-PF decision (x86-apf §3.6), one for both fault paths: the page needs
 * I/O, so async work, the artificial halt (RET_PF_RETRY, not a stale retry), or a blocking GUP on the vCPU
 * thread (RET_PF_SYNC; `kvm_sync_fault_done` ends it).
 */
function kvm_faultin_needs_io(
  vm: KvmVm,
  vcpu: KvmVcpu,
  addr: number,
  gfn: number,
  errorCode: number,
  prefetch: boolean,
): RetPf {
  if (!prefetch && vm.config.async_pf !== false && kvm_can_do_async_pf(vm, vcpu)) {
    vm.hooks.trace?.(vcpu.vcpu_id, TP_KVM_TRY_ASYNC_GET_PAGE, addr, gfn);
    if (kvm_find_async_pf_gfn(vcpu.apf.gfns, gfn)) {
      vm.hooks.trace?.(vcpu.vcpu_id, TP_KVM_ASYNC_PF_REPEATED_FAULT, addr, gfn);
      kvm_make_request(vcpu, KVM_REQ_APF_HALT);
      vcpu.mmu_retry_gfn = -1;
      return RET_PF_RETRY;
    }
    // The token is consumed even if the setup then fails (x86-apf §8 case 39).
    const token = alloc_apf_token(vm, vcpu);
    if (kvm_setup_async_pf(vm, vcpu, addr, token, gfn, errorCode)) {
      vcpu.mmu_retry_gfn = -1;
      return RET_PF_RETRY;
    }
  }
  vcpu.sync_fault_gfn = gfn;
  vcpu.stat.sync_faults++;
  vm.hooks.syncFault(vcpu, gfn);
  return RET_PF_SYNC;
}

/**
 * The blocking GUP of a synchronous fault returned: the page is resident and mapped.
 * @model no kernel function of this name: the return of the blocking fault-in inside
 * __kvm_mmu_faultin_pfn, split off as its own step so schedulers can time it.
 */
export function kvm_sync_fault_done(vm: KvmVm, vcpu: KvmVcpu): void {
  const gfn = vcpu.sync_fault_gfn;
  if (gfn < 0) return;
  vcpu.sync_fault_gfn = -1;
  if (!vm.config.mmu_notifiers) {
    host_page_fault_in_and_map(vm.mem.pageState, gfn);
    return;
  }
  // The GUP returns a fresh frame; then the fault goes on to mmu_lock like any other.
  host_page_fault_in(vm.mem.pageState, gfn);
  mmu_fault_resolved(vm, vcpu, gfn, vcpu.mmu_fault_flags);
}

// ---- The notifier-aware fault (mmu.md B.3.8 and A.5.6: the order of the kernel's steps per era) ----

/**
 * @kernel direct_page_fault / kvm_tdp_page_fault with the MMU notifiers (6.8 order): fast_page_fault; the
 * memory-cache topup; the mmu_invalidate_seq snapshot (smp_rmb); 6.8+ the lockless
 * mmu_invalidate_retry_gfn_unsafe; __kvm_faultin_pfn (the async-PF decision, unchanged: resident → pfn,
 * else async work, the artificial halt or a synchronous fault-in); 6.8+ the pre-check again; then under
 * mmu_lock is_page_fault_stale and the SPTE install (kvm_mmu_fault_locked). With `split_fault` the part
 * under mmu_lock is the vCPU's next step (`fault_lock`), so host operations can run in between.
 */
function direct_page_fault(vm: KvmVm, vcpu: KvmVcpu, addr: number, gfn: number, errorCode: number): RetPf {
  const st = vm.mem.pageState;
  const write = (errorCode & PFERR_WRITE_MASK) !== 0;
  const m = vm.memcache;
  // The memory caches (mmu.md A.5.6): a vCPU whose root a memslot update freed reloads it (the request's
  // kick made it exit first); 5.2 tops up before fast_page_fault, 5.9+ after it.
  const topupEarly = m?.era.topupBeforeFastPageFault === true && !m.topupUnderLock;
  if (m !== null) {
    if (!kvm_mmu_reload(vm, vcpu, m, false)) return RET_PF_RETRY;
    if (topupEarly && !mmu_fault_topup(vm, vcpu, m, false)) return RET_PF_RETRY;
  }
  const s = st[gfn]!;
  if (s & PAGE_SPTE_MAPPED) {
    // fast_page_fault: a write to a read-only SPTE whose host page is writable is fixed in place,
    // locklessly; any other fault on a present SPTE is spurious (another vCPU fixed it).
    if (write && s & PAGE_SPTE_RO) {
      if ((s & (PAGE_HOST_RO | PAGE_KSM)) === 0) {
        spte_make_writable(st, gfn);
        vcpu.mmu_retry_gfn = -1;
        return RET_PF_FIXED;
      }
    } else {
      spte_mark_young(st, gfn);
      vcpu.mmu_retry_gfn = -1;
      return RET_PF_FIXED;
    }
  }
  // mmu_topup_memory_caches (5.9+ here, after fast_page_fault; always succeeds without vm.memcache).
  if (m !== null && !topupEarly && !m.topupUnderLock && !mmu_fault_topup(vm, vcpu, m, false))
    return RET_PF_RETRY;
  // kvm_faultin_pfn: the memslot is being deleted or moved (KVM_MEMSLOT_INVALID): retry until the
  // update is published.
  if (vm.mmu.slot_invalid) return staleRetry(vcpu, gfn) as RetPf;
  const flags = mmu_fault_snapshot(vm, vcpu, gfn, write ? FAULT_WRITE : 0);
  if (flags < 0) return RET_PF_RETRY;
  if ((s & PAGE_HOST_RESIDENT) === 0) {
    const r = kvm_faultin_needs_io(vm, vcpu, addr, gfn, errorCode, false);
    if (r === RET_PF_SYNC) vcpu.mmu_fault_flags = flags; // kept across the fault-in, for kvm_sync_fault_done
    return r;
  }
  return mmu_fault_resolved(vm, vcpu, gfn, flags) as RetPf;
}
