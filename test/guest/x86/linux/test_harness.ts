// Test support for the Linux guest model (not a test itself): a VM on a given host era with the Linux
// guest installed, the host hooks recorded, and helpers that drive the host run loop and the async
// workers in a chosen order.
import { HYPERVISOR_CALLBACK_VECTOR, PF_VECTOR } from '../../../../src/abi/kvm_host.ts';
import { apfReasonPa } from '../../../../src/guest/x86/linux/apf_reason.ts';
import { LinuxGuest, type LinuxGuestOptions } from '../../../../src/guest/x86/linux/guest.ts';
import { fixedProgram, type TaskAction, type TaskProgram } from '../../../../src/guest/x86/linux/program.ts';
import { transcriptSink } from '../../../../src/guest/x86/linux/sink.ts';
import { KPC_USER } from '../../../../src/guest/x86/linux/state.ts';
import type { EventRecord } from '../../../../src/guest/x86/records.ts';
import { async_pf_execute } from '../../../../src/host/x86/async_pf.ts';
import { workPending } from '../../../../src/host/x86/async_pf_work.ts';
import { type EraName, eraConfig } from '../../../../src/host/x86/era.ts';
import { kvm_queue_exception_e } from '../../../../src/host/x86/exception.ts';
import { kvm_apic_set_irq } from '../../../../src/host/x86/lapic.ts';
import { kvm_sync_fault_done } from '../../../../src/host/x86/mmu_fault.ts';
import { kvm_vcpu_run_step, STEP_BLOCKED, type VcpuStepResult } from '../../../../src/host/x86/run_loop.ts';
import { formatTracepoint, TRACEPOINT_NAMES } from '../../../../src/host/x86/trace.ts';
import type { KvmVcpu } from '../../../../src/host/x86/vcpu.ts';
import { createVm, type KvmVm, kvm_vcpu_kick, type VmConfig } from '../../../../src/host/x86/vm.ts';
import { kvm_vmexit } from '../../../../src/host/x86/x86.ts';

/** Every task computes forever (1 ns bursts): a CPU with such a task never idles. */
export const computeForever: TaskProgram = { next: () => ({ kind: 'compute', ns: 1 }) };

/** CPUID 0x40000001.eax with ASYNC_PF (4), ASYNC_PF_VMEXIT (10) and ASYNC_PF_INT (14), like QEMU's default. */
export const FEATURES_ALL = 0x01007efb;

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

export class LinuxHarness {
  readonly vm: KvmVm;
  readonly guest: LinuxGuest;
  readonly events: EventRecord[] = [];
  readonly traces: string[] = [];
  /** Works queued by the host and not yet executed: [vcpu, slot, gen]. */
  readonly works: Array<[KvmVcpu, number, number]> = [];
  readonly syncFaults: KvmVcpu[] = [];
  kicks = 0;

  constructor(o: HarnessOptions = {}) {
    this.vm = createVm(eraConfig(o.era ?? '6.18'), {
      irqchip: o.irqchip ?? true,
      enforce_pv_cpuid: o.enforce_pv_cpuid ?? false,
      kvm_features: o.kvm_features ?? FEATURES_ALL,
      hlt_in_guest: o.hlt_in_guest ?? false,
      guest_state_protected: o.guest_state_protected ?? false,
      tdp: o.tdp ?? true,
      memory: o.memory ?? 16 * 1024 * 1024,
      vcpus: o.vcpus ?? 1,
    });
    this.vm.hooks = {
      asyncWorkQueued: (v, slot) => this.works.push([v, slot, v.async_pf.wGen[slot]!]),
      syncFault: (v) => this.syncFaults.push(v),
      kick: () => {
        this.kicks++;
      },
      trace: (_v, tp, a, b) => this.traces.push(`${TRACEPOINT_NAMES[tp]}: ${formatTracepoint(tp, a, b)}`),
    };
    const program = o.program ?? fixedProgram(o.tasks ?? []);
    this.guest = new LinuxGuest(this.vm, program, {
      config: o.guest ?? {},
      sink: transcriptSink(this.events, (o.vcpus ?? 1) > 1),
    });
    this.vm.guest = this.guest;
    const n = o.tasks?.length ?? o.nTasks ?? 0;
    for (let i = 0; i < n; i++) this.guest.spawnTask(o.taskCpus?.[i] ?? 0);
  }

  get state() {
    return this.guest.state;
  }

  vcpu(i = 0): KvmVcpu {
    return this.vm.vcpus[i]!;
  }

  /** One host run-loop iteration of vCPU i. */
  step(i = 0): VcpuStepResult {
    return kvm_vcpu_run_step(this.vm, this.vm.vcpus[i]!);
  }

  /** Steps vCPU i until it blocks or `max` steps ran; returns the steps taken. */
  run(i = 0, max = 1000): number {
    for (let n = 0; n < max; n++) if (this.step(i) === STEP_BLOCKED) return n;
    return max;
  }

  /** Steps vCPU i until `pred` holds (checked before each step); throws after `max` steps. */
  runUntil(pred: () => boolean, i = 0, max = 1000): void {
    for (let n = 0; n < max; n++) {
      if (pred()) return;
      if (this.step(i) === STEP_BLOCKED && !pred())
        throw new Error(`vcpu ${i} blocked before the condition held`);
    }
    if (!pred()) throw new Error(`condition not reached in ${max} steps`);
  }

  /** Runs every queued async worker whose work is still due (async_pf_execute), oldest first. */
  completeWorks(): number {
    let n = 0;
    while (this.works.length > 0) {
      const [v, slot, gen] = this.works.shift()!;
      if (!workPending(v.async_pf, slot, gen)) continue;
      async_pf_execute(this.vm, v, slot);
      n++;
    }
    return n;
  }

  /** Completes every pending synchronous fault-in. */
  completeSyncFaults(): void {
    for (const v of this.syncFaults.splice(0)) kvm_sync_fault_done(this.vm, v);
  }

  /** Boots vCPU i: runs it until it halts idle (the wakeup-all IRQ of the EN write is handled on the way). */
  boot(i = 0): void {
    this.run(i);
  }

  /** The guest's apf_reason area of CPU i. */
  area(i = 0): number {
    return apfReasonPa(this.state.config, i);
  }

  /**
   * What the host does for a 'not present' #PF, done by hand: flags@0 := `flags`, CR2 := token, #PF
   * pending with error code 0. The next run step delivers it.
   */
  injectPageFault(i: number, token: number, flags = 1): void {
    const v = this.vcpu(i);
    this.vm.mem.writeU32(this.area(i), flags);
    v.cr2 = token;
    kvm_queue_exception_e(v, PF_VECTOR, 0);
    kvm_vcpu_kick(this.vm, v); // the host queues events during an exit; force one
  }

  /**
   * An unrelated VM exit of vCPU i (a timer tick, say): the model's guest code exits only where its
   * instructions do, and a ≤5.7 host polls for completions only at entry.
   */
  exit(i = 0): void {
    kvm_vmexit(this.vcpu(i));
  }

  /** What a ≤5.7 host does for a 'page ready', done by hand: reason@0 := 2, #PF with CR2 = token. */
  injectLegacyPageReady(i: number, token: number): void {
    this.injectPageFault(i, token, 2);
  }

  /** What the host does for a 'page ready', done by hand: token@4 := token, IRQ 0xf3 into the LAPIC. */
  injectPageReady(i: number, token: number): void {
    const v = this.vcpu(i);
    this.vm.mem.writeU32(this.area(i) + 4, token);
    v.apf.pageready_pending = true;
    kvm_apic_set_irq(v.apic, HYPERVISOR_CALLBACK_VECTOR);
    kvm_vcpu_kick(this.vm, v);
  }

  /** CPU i runs task t in user mode, with no handler or kernel work in progress. */
  inUser(i: number, t: number): boolean {
    const c = this.state.cpu;
    return (
      c.curr[i] === t &&
      this.state.task.kpc[t] === KPC_USER &&
      c.irqPc[i] === 0 &&
      c.excPc[i] === 0 &&
      c.kqLen[i] === c.kqPos[i] &&
      this.vcpu(i).cpl === 3
    );
  }

  /** Runs CPU i until task t is in user mode, then makes it take an async #PF for `token` and sleep. */
  sleepOn(i: number, t: number, token: number): void {
    this.runUntil(() => this.inUser(i, t), i);
    this.injectPageFault(i, token);
    this.runUntil(() => this.state.cpu.curr[i] !== t, i);
  }

  eventsOf(kind: EventRecord['event']): EventRecord[] {
    return this.events.filter((e) => e.event === kind);
  }
}
