// A tiny VM for the MMU-notifier conformance tests (mmu §E Part B): one vCPU, one memslot of NPAGES
// pages (slot pages [0, NPAGES) are guest memory, anything else is host memory outside the memslot),
// the notifier model on. Helpers fault a gfn through the notifier-aware path and record the notifier
// tracepoints.
import { type BugName, bugSet } from '../../src/host/x86/bugs.ts';
import { type EraName, hostBehaviour } from '../../src/host/x86/era.ts';
import {
  kvm_mmu_do_page_fault,
  RET_PF_FIXED,
  RET_PF_SYNC,
  type RetPf,
} from '../../src/host/x86/mmu_fault.ts';
import { applyX86Step } from '../../src/host/x86/steps.ts';
import { createVm, type KvmVm, nullHooks } from '../../src/host/x86/vm.ts';
import { PAGE_SIZE } from '../../src/mem/guest_memory.ts';

/** Pages in the memslot: enough for the gfn ranges of mmu §E case 21 ([0x10, 0x90)). */
export const NPAGES = 256;

export interface MmuVmOptions {
  bugs?: BugName[];
  /** Stop a fault before its mmu_lock part (the `fault_lock` step finishes it). */
  split?: boolean;
  /** The initial mmu_invalidate_seq. */
  seqStart?: number;
  /** Pages in the memslot (default NPAGES). */
  npages?: number;
  /** vCPUs (default 1). */
  vcpus?: number;
  /** The memory-cache model (VmConfig.mmu_caches). */
  caches?: boolean;
  /** Shadow paging instead of TDP (an indirect MMU). */
  shadow?: boolean;
}

export interface TraceEvent {
  tp: number;
  start: number;
  end: number;
}

export interface MmuVm {
  vm: KvmVm;
  /** Notifier tracepoints emitted so far (hooks.mmuTrace). */
  events: TraceEvent[];
}

export function mmuVm(era: EraName, opts: MmuVmOptions = {}): MmuVm {
  const events: TraceEvent[] = [];
  const hooks = {
    ...nullHooks(),
    mmuTrace: (tp: number, start: number, end: number) => events.push({ tp, start, end }),
  };
  const vm = createVm(
    hostBehaviour(era, bugSet(opts.bugs ?? [])),
    {
      irqchip: true,
      enforce_pv_cpuid: false,
      kvm_features: 0,
      hlt_in_guest: false,
      guest_state_protected: false,
      tdp: opts.shadow !== true,
      memory: (opts.npages ?? NPAGES) * PAGE_SIZE,
      vcpus: opts.vcpus ?? 1,
      mmu_notifiers: true,
      split_fault: opts.split ?? false,
      ...(opts.caches ? { mmu_caches: true } : {}),
      ...(opts.seqStart === undefined ? {} : { mmu_seq_start: opts.seqStart }),
    },
    hooks,
  );
  return { vm, events };
}

/** A guest access to `gfn` on vCPU 0 that exits to KVM (an EPT violation): the fault handler's answer. */
export function guestFault(vm: KvmVm, gfn: number, write = false): RetPf {
  return kvm_mmu_do_page_fault(vm, vm.vcpus[0]!, gfn * PAGE_SIZE, write ? 2 : 0, false);
}

/** The `fault_lock` step of vCPU 0's split fault. */
export const faultLock = (vm: KvmVm): number => applyX86Step(vm, { kind: 'fault_lock', vcpu: 0 });

/** Maps `gfn` (a read fault, finished through fault_lock on a split VM); throws unless it got mapped. */
export function mapGfn(vm: KvmVm, gfn: number, write = false): void {
  let r: number = guestFault(vm, gfn, write);
  if (r === RET_PF_SYNC && vm.config.split_fault) r = faultLock(vm);
  if (r !== RET_PF_FIXED) throw new Error(`mapGfn(${gfn}): fault returned ${r}`);
}

/** The state byte of `gfn`. */
export const pageState = (vm: KvmVm, gfn: number): number => vm.mem.pageState[gfn]!;
