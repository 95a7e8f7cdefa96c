// What one vCPU run step did, as the simulator learns it today: by reading guest and host state before
// and after `kvm_vcpu_run_step` and diffing (the guest's ack count, `vcpu.stat.pf_fixed`, the CPU's
// interrupt and exception frames) and by reading the injection count (sim_vm.ts, HostHooks.injected). Every such
// read is in this file, so the day steps report their effects as data, only this file changes.
//
// One StepProbe per simulator, reused for every step: `before` and `after` write numbers into its fields
// and allocate nothing.
import { KVM_PV_REASON_PAGE_READY } from '../abi/kvm_para.ts';
import { GSTEP_HANDLER, IRQ_WAKE, PF_HANDLE } from '../guest/x86/linux/state.ts';
import { IN_GUEST_MODE, type KvmVcpu } from '../host/x86/vcpu.ts';
import type { SimVm } from './sim_vm.ts';

export class StepProbe {
  /** The step entered the guest (a VM entry, charged as an exit). */
  entering = false;
  private acks0 = 0;
  private fixed0 = 0;
  private irqPc0 = 0;
  private excPc0 = 0;
  private excFlags0 = 0;

  // Set by `after`.
  /** Exceptions (#PF) and interrupts the host injected at VM entry. */
  pf = 0;
  irq = 0;
  /** The guest step's kind (GSTEP_*) and, for a compute burst, its length in ns. */
  kind = 0;
  ns = 0;
  /** Page-ready acks the guest wrote (MSR_KVM_ASYNC_PF_ACK) and pages the host prefaulted. */
  acks = 0;
  fixed = 0;
  /** For a handler step: it ran in an interrupt frame (or one was injected), or in an exception frame. */
  inIrq = false;
  inExc = false;
  /** For a handler step: it woke the sleeper of `wakeToken` (the end of that token's page-ready latency). */
  wakes = false;
  wakeToken = 0;

  /** Call just before the vCPU's `run` step. */
  before(sv: SimVm, vcpu: KvmVcpu): void {
    const gs = sv.guest.state;
    const cpu = gs.cpu;
    const c = vcpu.vcpu_id;
    this.entering = vcpu.mode !== IN_GUEST_MODE;
    this.acks0 = gs.counters.acks;
    this.fixed0 = vcpu.stat.pf_fixed;
    this.irqPc0 = cpu.irqPc[c]!;
    this.excPc0 = cpu.excPc[c]!;
    this.excFlags0 = cpu.excFlags[c]!;
    sv.injections.pf = 0;
    sv.injections.irq = 0;
  }

  /** Call after a step that ran (neither blocked nor halted). */
  after(sv: SimVm, vcpu: KvmVcpu): void {
    const gs = sv.guest.state;
    const cpu = gs.cpu;
    const c = vcpu.vcpu_id;
    const adapter = sv.injections;
    this.pf = adapter.pf;
    this.irq = adapter.irq;
    const kind = cpu.lastKind[c]!;
    this.kind = kind;
    this.ns = cpu.lastNs[c]!;
    this.acks = gs.counters.acks - this.acks0;
    this.fixed = vcpu.stat.pf_fixed - this.fixed0;
    if (kind !== GSTEP_HANDLER) return;
    const irqPc0 = this.irqPc0;
    const excPc0 = this.excPc0;
    this.inIrq = irqPc0 !== 0 || adapter.irq !== 0;
    this.inExc = excPc0 !== 0 || adapter.pf !== 0;
    // The page-ready wake: the IRQ handler's kvm_async_pf_task_wake, or the legacy #PF handler's.
    if (irqPc0 === IRQ_WAKE && cpu.irqPc[c] !== IRQ_WAKE) {
      this.wakes = true;
      this.wakeToken = cpu.irqToken[c]!;
    } else if (
      excPc0 === PF_HANDLE &&
      this.excFlags0 === KVM_PV_REASON_PAGE_READY &&
      cpu.excPc[c] !== PF_HANDLE
    ) {
      this.wakes = true;
      this.wakeToken = cpu.excToken[c]!;
    } else this.wakes = false;
  }

  /** The guest is in task context after the step (no interrupt or exception frame, not halted). */
  inTaskContext(sv: SimVm, c: number): boolean {
    const cpu = sv.guest.state.cpu;
    return cpu.irqPc[c] === 0 && cpu.excPc[c] === 0 && cpu.haltNode[c]! < 0;
  }

  /** The task whose compute or touch the step ran (for the trace). */
  lastTask(sv: SimVm, c: number): number {
    return sv.guest.state.cpu.lastTask[c]!;
  }

  /** The guest's current task on CPU c (for the trace). */
  currentTask(sv: SimVm, c: number): number {
    return sv.guest.state.cpu.curr[c]!;
  }
}
