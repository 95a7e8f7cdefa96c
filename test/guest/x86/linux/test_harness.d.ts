import { LinuxGuest, type LinuxGuestOptions } from '../../../../src/guest/x86/linux/guest.ts';
import { type TaskAction, type TaskProgram } from '../../../../src/guest/x86/linux/program.ts';
import type { EventRecord } from '../../../../src/guest/x86/records.ts';
import { type EraName } from '../../../../src/host/x86/era.ts';
import { type VcpuStepResult } from '../../../../src/host/x86/run_loop.ts';
import type { KvmVcpu } from '../../../../src/host/x86/vcpu.ts';
import { type KvmVm, type VmConfig } from '../../../../src/host/x86/vm.ts';
/** Every task computes forever (1 ns bursts): a CPU with such a task never idles. */
export declare const computeForever: TaskProgram;
/** CPUID 0x40000001.eax with ASYNC_PF (4), ASYNC_PF_VMEXIT (10) and ASYNC_PF_INT (14), like QEMU's default. */
export declare const FEATURES_ALL = 16809723;
export interface HarnessOptions extends Partial<VmConfig> {
    era?: EraName;
    /** Per-task action lists (task i is spawned on cpu `taskCpus[i]`, default 0). */
    tasks?: readonly (readonly TaskAction[])[];
    taskCpus?: readonly number[];
    /** With `program`: how many tasks to spawn. */
    nTasks?: number;
    program?: TaskProgram;
    guest?: LinuxGuestOptions['config'];
}
export declare class LinuxHarness {
    readonly vm: KvmVm;
    readonly guest: LinuxGuest;
    readonly events: EventRecord[];
    readonly traces: string[];
    /** Works queued by the host and not yet executed: [vcpu, slot, gen]. */
    readonly works: Array<[KvmVcpu, number, number]>;
    readonly syncFaults: KvmVcpu[];
    kicks: number;
    constructor(o?: HarnessOptions);
    get state(): import("../../../../src/guest/x86/linux/state.ts").LinuxGuestState;
    vcpu(i?: number): KvmVcpu;
    /** One host run-loop iteration of vCPU i. */
    step(i?: number): VcpuStepResult;
    /** Steps vCPU i until it blocks or `max` steps ran; returns the steps taken. */
    run(i?: number, max?: number): number;
    /** Steps vCPU i until `pred` holds (checked before each step); throws after `max` steps. */
    runUntil(pred: () => boolean, i?: number, max?: number): void;
    /** Runs every queued async worker whose work is still due (async_pf_execute), oldest first. */
    completeWorks(): number;
    /** Completes every pending synchronous fault-in. */
    completeSyncFaults(): void;
    /** Boots vCPU i: runs it until it halts idle (the wakeup-all IRQ of the EN write is handled on the way). */
    boot(i?: number): void;
    /** The guest's apf_reason area of CPU i. */
    area(i?: number): number;
    /**
     * What the host does for a 'not present' #PF, done by hand: flags@0 := `flags`, CR2 := token, #PF
     * pending with error code 0. The next run step delivers it.
     */
    injectPageFault(i: number, token: number, flags?: number): void;
    /**
     * An unrelated VM exit of vCPU i (a timer tick, say): the model's guest code exits only where its
     * instructions do, and a ≤5.7 host polls for completions only at entry.
     */
    exit(i?: number): void;
    /** What a ≤5.7 host does for a 'page ready', done by hand: reason@0 := 2, #PF with CR2 = token. */
    injectLegacyPageReady(i: number, token: number): void;
    /** What the host does for a 'page ready', done by hand: token@4 := token, IRQ 0xf3 into the LAPIC. */
    injectPageReady(i: number, token: number): void;
    /** CPU i runs task t in user mode, with no handler or kernel work in progress. */
    inUser(i: number, t: number): boolean;
    /** Runs CPU i until task t is in user mode, then makes it take an async #PF for `token` and sleep. */
    sleepOn(i: number, t: number, token: number): void;
    eventsOf(kind: EventRecord['event']): EventRecord[];
}
