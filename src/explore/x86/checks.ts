// The state predicates behind the properties (docs/properties.md): invariants checked on every explored
// state, the end-state checks, and the "pending" predicates the liveness pass works with.

import { KVM_MP_STATE_HALTED } from '../../abi/kvm.ts';
import { DF_VECTOR, KVM_REQ_APF_READY } from '../../abi/kvm_host.ts';
import { WORK_POOL_SIZE } from '../../host/x86/async_pf_work.ts';
import { pendingSlots } from '../../host/x86/codec.ts';
import { TRIPLE_FAULT } from '../../host/x86/exception.ts';
import {
  bracketed,
  host_mm_busy,
  MAX_MM_OPS,
  MM_MEMSLOT_REMAP,
  PH_END,
  PH_PTE,
} from '../../host/x86/primary_mmu.ts';
import { IN_GUEST_MODE, type KvmVcpu } from '../../host/x86/vcpu.ts';
import type { KvmVm } from '../../host/x86/vm.ts';
import {
  PAGE_HOST_RESIDENT,
  PAGE_HOST_RO,
  PAGE_SPTE_MAPPED,
  PAGE_SPTE_RO,
  PAGE_SPTE_STALE,
} from '../../mem/page_state.ts';
import type { VariantView } from '../../variant/api.ts';
import { variantState } from '../../variant/state.ts';
import { thrownText, VariantError } from '../../variant/variant_error.ts';
import { mapCountsNegative, mapIncoherent, mapUnbalanced, uafMapping } from './map_actor.ts';
import type { PropertyName } from './properties.ts';
import { inFirmwareSmm, type X86World } from './world.ts';

const scratch = new Int32Array(WORK_POOL_SIZE);

/**
 * The memory-cache model stopped everything: a BUG killed the host, or KVM_RUN returned an error and the
 * VMM stopped the VM. Nothing is pending then in the protocol's sense (end-state, lost-wakeup and liveness
 * checks skip such states): the stop is what the host or the VMM decided, and the cache properties have
 * already judged the step that led there.
 */
export function vmStopped(vm: KvmVm): boolean {
  const m = vm.memcache;
  if (m === null) return false;
  if (m.bug !== null) return true;
  for (let v = 0; v < m.run_error.length; v++) if (m.run_error[v] !== 0) return true;
  return false;
}

/** A #DF (or a triple fault) is queued on this vCPU. */
export const doubleFaultPending = (v: KvmVcpu): boolean =>
  (v.exception.pending || v.exception.injected) &&
  (v.exception.vector === DF_VECTOR || v.exception.vector === TRIPLE_FAULT);

/**
 * kick-not-lost: a vCPU executing guest code with KVM_REQ_APF_READY pending notices it only at its next
 * exit. The kick is legitimately skipped only while a page-ready is outstanding (pageready_pending), whose
 * ACK will rescan. With the store of the ACK still buffered, the committed value is already false.
 */
export function kickLost(v: KvmVcpu): boolean {
  if (v.mode !== IN_GUEST_MODE || (v.requests & KVM_REQ_APF_READY) === 0) return false;
  return !(v.apf.pageready_pending && !v.apf.pageready_pending_store_buffered);
}

function irrEmpty(v: KvmVcpu): boolean {
  for (let i = 0; i < 8; i++) if (v.apic.irr[i] !== 0) return false;
  return true;
}

/**
 * vCPU x has nothing outstanding or queued that could still wake a waiter on one of its tokens, and
 * nothing is pending: no pending works, empty `done`, no synchronous fault in progress, no pending
 * exception or IRR bit, no buffered store, no environment action half done, and the guest has no handler
 * or kernel work in flight on that CPU.
 */
export function vcpuQuiet(w: X86World, x: number): boolean {
  const v = w.vcpu(x);
  const s = v.async_pf;
  if (s.doneLen !== 0 || pendingSlots(s, scratch) !== 0 || v.sync_fault_gfn >= 0) return false;
  if (v.exception.pending || v.exception.injected || !irrEmpty(v)) return false;
  if (v.apf.pageready_pending_store_buffered || inFirmwareSmm(w.vcpu(x)) || w.hotplug[x] !== 0) return false;
  return !w.guest.busy(x);
}

/**
 * A lost wakeup: some waiter waits on a token of vCPU x (tokens carry the vCPU id; only x's page-ready or
 * wakeup-all can end the wait) while x is quiet, so nothing will ever wake it.
 */
export function lostWakeup(w: X86World): boolean {
  const g = w.guest;
  for (let i = 0; i < g.waiterSlots; i++) {
    if (!g.waiting(i)) continue;
    const x = g.waiterVcpu(i);
    if (x >= 0 ? vcpuQuiet(w, x) : allQuiet(w)) return true;
  }
  return false;
}

export function anyWaiter(w: X86World): boolean {
  for (let i = 0; i < w.guest.waiterSlots; i++) if (w.guest.waiting(i)) return true;
  return false;
}

function allQuiet(w: X86World): boolean {
  for (let x = 0; x < w.layout.vcpus; x++) if (!vcpuQuiet(w, x)) return false;
  return true;
}

/** no-stale-spte: a present SPTE maps a freed or replaced frame, or is writable over a read-only host PTE. */
export function staleSpte(w: X86World): boolean {
  const st = w.vm.mem.pageState;
  for (const g of w.layout.pages) {
    const s = st[g]!;
    if ((s & PAGE_SPTE_MAPPED) === 0) continue;
    if (s & PAGE_SPTE_STALE || (s & PAGE_HOST_RESIDENT) === 0) return true;
    if (s & PAGE_HOST_RO && (s & PAGE_SPTE_RO) === 0) return true;
  }
  return false;
}

/** no-spte-in-invalidation: a page inside the window of an operation whose start() zapped it is mapped. */
export function spteInInvalidation(w: X86World): boolean {
  const vm = w.vm;
  const mm = vm.mm;
  for (let t = 0; t < MAX_MM_OPS; t++) {
    const ph = mm.phase[t]!;
    if (ph !== PH_PTE && ph !== PH_END) continue;
    if (mm.op[t] === MM_MEMSLOT_REMAP || !bracketed(vm, mm.op[t]!)) continue;
    const base = vm.mmu.slot_base;
    for (let g = Math.max(0, mm.start[t]! - base); g < Math.min(vm.mem.npages, mm.end[t]! - base); g++)
      if (vm.mem.pageState[g]! & PAGE_SPTE_MAPPED) return true;
  }
  return false;
}

/** notifier-balanced: counts never negative, and zero when no host operation is in flight. */
export function notifierUnbalanced(w: X86World): boolean {
  const m = w.vm.mmu;
  if (m.mmu_invalidate_in_progress < 0 || m.mn_active_invalidate_count < 0) return true;
  if (host_mm_busy(w.vm)) return false;
  return m.mmu_invalidate_in_progress !== 0 || m.mn_active_invalidate_count !== 0;
}

/**
 * fault-progress's pending fact: some vCPU's last fault was sent back as stale, and its page is still not
 * mapped (a later fault, or another vCPU's, completes it).
 */
export function faultRetrying(w: X86World): boolean {
  const st = w.vm.mem.pageState;
  for (const v of w.vm.vcpus) {
    const g = v.mmu_retry_gfn;
    if (g >= 0 && (st[g]! & PAGE_SPTE_MAPPED) === 0) return true;
  }
  return false;
}

/**
 * The first property of the world's variants (Variant.properties) that `w` violates, as
 * `variant:<name>/<property>`, or null. A property that throws is its variant's error (VariantError).
 */
export function variantViolation(w: X86World): string | null {
  const props = w.layout.variants.properties;
  if (props.length === 0) return null;
  const view = variantView(w);
  for (const p of props) {
    let r: string | null;
    try {
      r = p.property.check(view);
    } catch (e) {
      if (e instanceof VariantError) throw e;
      throw new VariantError(p.from.file, `properties.${p.property.name}`, thrownText(e), e);
    }
    if (r !== null && r !== undefined) {
      w.variantDetail = String(r);
      return p.id;
    }
  }
  return null;
}

/** What a variant property sees of `w` (src/variant/api.ts VariantView). */
export function variantView(w: X86World): VariantView {
  return { vm: w.vm, vcpuState: w.vm.vcpus.map((v) => variantState(v)) };
}

/** The first invariant of `checks` that `w` violates, or null. */
export function invariantViolation(w: X86World, checks: ReadonlySet<PropertyName>): PropertyName | null {
  if (w.layout.cfg.mmu !== undefined) {
    if (checks.has('no-stale-spte') && staleSpte(w)) return 'no-stale-spte';
    if (checks.has('no-spte-in-invalidation') && spteInInvalidation(w)) return 'no-spte-in-invalidation';
    if (checks.has('notifier-balanced') && notifierUnbalanced(w)) return 'notifier-balanced';
  }
  const hm = w.vm.hostMaps;
  if (hm !== null) {
    if (checks.has('no-kunmap-of-remap') && hm.stats.kunmap_of_remap > 0) return 'no-kunmap-of-remap';
    if (checks.has('no-uaf-mapping') && uafMapping(hm)) return 'no-uaf-mapping';
    if (checks.has('dirty-logged') && hm.stats.dirty_lost > 0) return 'dirty-logged';
    if (checks.has('map-balanced') && mapCountsNegative(hm.backing)) return 'map-balanced';
    if (checks.has('map-coherent') && mapIncoherent(hm)) return 'map-coherent';
  }
  if (checks.has('no-guest-panic') && w.guest.panicked()) return 'no-guest-panic';
  if (checks.has('no-unexpected-flags-warn') && w.guest.warnedFlags()) return 'no-unexpected-flags-warn';
  if (checks.has('no-double-fault'))
    for (const v of w.vm.vcpus) if (doubleFaultPending(v)) return 'no-double-fault';
  if (checks.has('kick-not-lost') && !w.vm.era.completionPolled)
    for (const v of w.vm.vcpus) if (kickLost(v)) return 'kick-not-lost';
  if (checks.has('no-lost-wakeup') && lostWakeup(w) && !vmStopped(w.vm)) return 'no-lost-wakeup';
  return null;
}

/** A state with no enabled step: nobody may still wait, and no dummy may be left behind. */
export function endViolation(w: X86World, checks: ReadonlySet<PropertyName>): PropertyName | null {
  if (vmStopped(w.vm)) return null;
  if (checks.has('no-lost-wakeup') && anyWaiter(w)) return 'no-lost-wakeup';
  if (checks.has('dummy-consumed') && w.guest.dummies() > 0) return 'dummy-consumed';
  if (checks.has('map-balanced') && w.vm.hostMaps !== null && mapUnbalanced(w.vm.hostMaps))
    return 'map-balanced';
  return null;
}

/** vCPU v halted while its `done` list is non-empty: its HLT returns at once (x86-apf §6.1 item 3). */
export const haltedWithDone = (w: X86World, v: number): boolean => {
  const vcpu = w.vcpu(v);
  return vcpu.async_pf.doneLen > 0 && (vcpu.mp_state === KVM_MP_STATE_HALTED || vcpu.apf.halted);
};
