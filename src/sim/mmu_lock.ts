// Time under KVM's mmu_lock, and the host memory operations whose invalidation window lasts (the NUMA
// scan's change_prot_numa): the simulator's timing of what the model does in atomic steps.
//
// The model's steps take no time; the simulator gives them a duration where it matters to the guest:
// - every notifier callback that takes mmu_lock (invalidate_range_start with its zap, invalidate_range_end,
//   clear_flush_young) holds it for `mmu_lock_notifier` + `mmu_lock_spte` per SPTE it zapped or aged, and
//   every guest fault's part under the lock (is_page_fault_stale and the install) holds it for
//   `mmu_lock_fault` (costs.ts). The lock is exclusive, as the shadow MMU takes it (KVM's rmap-based MMU,
//   which this model is: every x86 kernel without the TDP MMU, and tdp_mmu=N — this project's test host).
//   A fault that finds it held waits — its vCPU's time, charged as exits — until the holder is done, or,
//   from 6.12 (548f87f667a3, `rmapZapYields`), at most one rmap step of a zap, which drops the lock for a
//   waiter (cond_resched_rwlock_write) and resumes after it. A host operation that finds it held starts
//   later (host wait, not vCPU time).
// - a timed operation (`beginTimed`) runs invalidate_range_start now, changes its PTEs `host_pte` per page
//   later, and only then runs invalidate_range_end: the window in which the era's retry predicate sends
//   guest faults back (≤5.11 every fault of the VM, 5.12+ only those in the range; 6.8's lockless
//   pre-check retries without taking the lock at all).
import { MAX_MM_OPS, PH_IDLE } from '../host/x86/primary_mmu.ts';
import { applyX86Step } from '../host/x86/steps.ts';
import type { KvmVm } from '../host/x86/vm.ts';
import type { SimCosts } from './costs.ts';

export class MmuLockTiming {
  /**
   * Per VM: when the chain of guest faults' holds ends; when the host's callbacks' holds end; when the zap
   * holding the lock now ends (for 6.12's yield). The simulator runs host work (reclaim's scan, a KSM
   * batch) in an instant of virtual time that the kernel spreads over its own; so host holds do not queue
   * behind one another — between two of them the lock is free — and a fault waits for at most the one in
   * progress, the longest being a big range's zap.
   */
  readonly faultFreeAt: Float64Array;
  readonly hostFreeAt: Float64Array;
  readonly zapUntil: Float64Array;
  /** Per VM, cumulative: ns held (faults, notifier callbacks), ns vCPUs waited, ns host operations waited,
   * acquisitions by faults, and those that found the lock held. */
  readonly holdNs: Float64Array;
  readonly waitNs: Float64Array;
  readonly hostWaitNs: Float64Array;
  readonly faultAcquires: Float64Array;
  readonly contended: Float64Array;
  /** Per VM: timed windows opened. */
  readonly windows: Float64Array;
  private readonly yields: Uint8Array;

  constructor(
    private readonly vms: readonly KvmVm[],
    private readonly costs: SimCosts,
  ) {
    const n = vms.length;
    this.faultFreeAt = new Float64Array(n);
    this.hostFreeAt = new Float64Array(n);
    this.zapUntil = new Float64Array(n);
    this.holdNs = new Float64Array(n);
    this.waitNs = new Float64Array(n);
    this.hostWaitNs = new Float64Array(n);
    this.faultAcquires = new Float64Array(n);
    this.contended = new Float64Array(n);
    this.windows = new Float64Array(n);
    this.yields = Uint8Array.from(vms, (k) => (k.era.mmu.rmapZapYields ? 1 : 0));
  }

  /** When VM vm's mmu_lock is free of every hold taken so far. */
  freeAt(vm: number): number {
    return Math.max(this.faultFreeAt[vm]!, this.hostFreeAt[vm]!);
  }

  /** A notifier callback of VM vm takes mmu_lock at `now` and zaps or ages `sptes` SPTEs under it. */
  notifier(vm: number, now: number, sptes: number): void {
    const c = this.costs;
    const hold = c.mmu_lock_notifier + c.mmu_lock_spte * sptes;
    const start = Math.max(now, this.faultFreeAt[vm]!);
    this.hostWaitNs[vm]! += start - now;
    const end = start + hold;
    if (end > this.hostFreeAt[vm]!) this.hostFreeAt[vm] = end;
    if (sptes > 0 && end > this.zapUntil[vm]!) this.zapUntil[vm] = end;
    this.holdNs[vm]! += hold;
  }

  /** `n` guest faults of VM vm take mmu_lock at `now`: returns how long the vCPU waits for it. */
  fault(vm: number, now: number, n: number): number {
    const c = this.costs;
    const free = this.freeAt(vm);
    const hold = c.mmu_lock_fault * n;
    let wait = 0;
    if (free > now) {
      this.contended[vm]! += n;
      if (this.yields[vm] !== 0 && this.zapUntil[vm]! > now) {
        // 6.12+: the zap in progress drops the lock at its next rmap step for the waiter, and resumes
        // after the fault's part is done.
        wait = Math.min(free - now, c.mmu_lock_spte);
        this.zapUntil[vm]! += hold;
        if (this.zapUntil[vm]! > this.hostFreeAt[vm]!) this.hostFreeAt[vm] = this.zapUntil[vm]!;
        this.faultFreeAt[vm] = Math.max(this.faultFreeAt[vm]!, now + wait + hold);
      } else {
        wait = free - now;
        this.faultFreeAt[vm] = free + hold;
      }
      this.waitNs[vm]! += wait;
    } else this.faultFreeAt[vm] = now + hold;
    this.holdNs[vm]! += hold;
    this.faultAcquires[vm]! += n;
    return wait;
  }

  /**
   * Starts host memory operation `op` on slot pages [start, end) of VM vm at `now` as a timed window:
   * invalidate_range_start (and its zap) runs now. Returns the host mm thread that finishes it and when
   * (the PTE change, then invalidate_range_end: `finishTimed`), or null when every host mm thread is busy
   * and the operation ran whole at once.
   */
  beginTimed(
    vm: number,
    now: number,
    op: number,
    start: number,
    end: number,
  ): { thread: number; at: number } | null {
    const kvm = this.vms[vm]!;
    const thread = applyX86Step(kvm, { kind: 'host_mm_begin', op, start, end });
    if (thread < 0) {
      applyX86Step(kvm, { kind: 'host_mm', op, start, end });
      return null;
    }
    applyX86Step(kvm, { kind: 'host_mm_step', thread });
    this.windows[vm]!++;
    return { thread, at: Math.max(now, this.hostFreeAt[vm]!) + this.costs.host_pte * (end - start) };
  }

  /** The due time of a timed window came: the PTE change, then invalidate_range_end. */
  finishTimed(vm: number, thread: number): void {
    const kvm = this.vms[vm]!;
    while (kvm.mm.phase[thread] !== PH_IDLE) applyX86Step(kvm, { kind: 'host_mm_step', thread });
  }
}

/** A timed window's control-event argument: VM and host mm thread in one integer. */
export const windowArg = (vm: number, thread: number): number => vm * MAX_MM_OPS + thread;
export const windowVm = (arg: number): number => Math.floor(arg / MAX_MM_OPS);
export const windowThread = (arg: number): number => arg % MAX_MM_OPS;
