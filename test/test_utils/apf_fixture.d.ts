import { type BugName } from '../../src/host/x86/bugs.ts';
import { type EraName } from '../../src/host/x86/era.ts';
import { type RetPf } from '../../src/host/x86/mmu_fault.ts';
import type { KvmVcpu } from '../../src/host/x86/vcpu.ts';
import { type KvmVm, type VmConfig } from '../../src/host/x86/vm.ts';
export declare const A = 65536;
export type Delivered = {
    kind: 'exception';
    vector: number;
    errorCode: number;
    cr2: number;
} | {
    kind: 'irq';
    vector: number;
} | {
    kind: 'pf_vmexit';
    address: number;
};
export interface FixtureOptions extends Partial<VmConfig> {
    era?: EraName;
    /** Historical bugs switched back on. */
    bugs?: BugName[];
    /** Which vCPU the helpers act on (the VM gets vcpu+1 vCPUs). */
    vcpu?: number;
    /** Leave the LAPIC as reset left it (software-disabled). */
    lapicDisabled?: boolean;
}
export declare class ApfFixture {
    readonly vm: KvmVm;
    readonly vcpu: KvmVcpu;
    readonly delivered: Delivered[];
    readonly traces: string[];
    /** Works the host queued, as [vcpu, slot, gen]. */
    readonly works: Array<[KvmVcpu, number, number]>;
    readonly syncFaults: number[];
    kicks: number;
    constructor(o?: FixtureOptions);
    wrmsr(msr: number, value: bigint | number): 'ok' | '#GP';
    rdmsr(msr: number): bigint | '#GP';
    /** One VM entry: requests, then event injection (recorded in `delivered`). */
    enter(): void;
    /** Enter until nothing more is injected, re-enabling IF after each delivery as an IRET would. */
    settle(): void;
    u32(gpa: number): number;
    setU32(gpa: number, v: number): void;
    /** Marks gfn's host page non-resident (NEEDS_IO) and unmapped. */
    evict(gfn: number): void;
    /** A guest access to `gpa` that misses the secondary MMU (an EPT/NPT violation). */
    fault(gpa: number, prefetch?: boolean): RetPf;
    mapped(gfn: number): boolean;
    /** Runs the worker of the i-th queued work (async_pf_execute). */
    complete(i?: number): void;
    /** "Enabled-PV" of x86-apf §8.1: INT = 0xf3, EN = A | 0x9, the wakeup-all consumed (slot cleared, ACK). */
    enabledPv(en?: number): this;
}
