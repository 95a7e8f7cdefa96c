import { type BugName } from '../../src/host/x86/bugs.ts';
import { type EraName } from '../../src/host/x86/era.ts';
import { type RetPf } from '../../src/host/x86/mmu_fault.ts';
import { type KvmVm } from '../../src/host/x86/vm.ts';
/** Pages in the memslot: enough for the gfn ranges of mmu §E case 21 ([0x10, 0x90)). */
export declare const NPAGES = 256;
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
export declare function mmuVm(era: EraName, opts?: MmuVmOptions): MmuVm;
/** A guest access to `gfn` on vCPU 0 that exits to KVM (an EPT violation): the fault handler's answer. */
export declare function guestFault(vm: KvmVm, gfn: number, write?: boolean): RetPf;
/** The `fault_lock` step of vCPU 0's split fault. */
export declare const faultLock: (vm: KvmVm) => number;
/** Maps `gfn` (a read fault, finished through fault_lock on a split VM); throws unless it got mapped. */
export declare function mapGfn(vm: KvmVm, gfn: number, write?: boolean): void;
/** The state byte of `gfn`. */
export declare const pageState: (vm: KvmVm, gfn: number) => number;
