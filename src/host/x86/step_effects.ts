// What one `run` step (kvm_vcpu_run_step) did, as data: the host and the guest model write it at the point
// where each event happens, and a scheduler reads it after the step instead of diffing state. One record
// per VM (KvmVm.effects), reset at the start of every run step; a step runs one vCPU, so the record is
// that vCPU's. Writing it is plain field stores and increments: nothing allocates, nobody has to listen.
//
// The host writes `entering`, the injections, `acks`, `fixed` and the prefaults that had to fault in; the
// Linux guest model (guest/x86/linux) writes its step kind, the compute burst, the task, the frame its
// handler ran in, and the page-ready wake. It lives here, in the host layer, so both may import it.

/** The guest step ran in no handler frame, an interrupt frame, or an exception frame. */
export const FRAME_NONE = 0;
export const FRAME_IRQ = 1;
export const FRAME_EXC = 2;

/** Prefaults that found their page evicted again, kept per step (more are not recorded). */
export const REFAULT_CAP = 96;

export class StepEffects {
  /** The step entered the guest (a VM entry; the vCPU was not in guest mode before it). */
  entering = false;
  /** Exceptions (a #PF, a #GP, or a nested #PF VM-exit) and interrupts injected at VM entry. */
  excInjected = 0;
  irqInjected = 0;
  /** WRMSR(MSR_KVM_ASYNC_PF_ACK) exits (counted whether or not the write then raised #GP). */
  acks = 0;
  /** Pages kvm_arch_async_page_ready prefaulted (vcpu.stat.pf_fixed). */
  fixed = 0;
  /**
   * Prefaults whose page was not resident (evicted again after its page-in): the blocking fault-in the
   * model completes at once, in order; their gfns are refaultGfn[0, refaults).
   */
  refaults = 0;
  readonly refaultGfn = new Float64Array(REFAULT_CAP);
  /** Faults of this step that took mmu_lock (the part under the lock ran; 6.8's lockless retry did not). */
  mmuLocked = 0;
  /**
   * The step's guest fault is the first on its page since an invalidation zapped the page's SPTE: the
   * host memory operation that did (HOST_MM_OPS index), or -1. Set only where MmuHost.zapSource tracks it.
   */
  refaultSrc = -1;

  // Written by the guest model.
  /** The guest step's kind (the Linux guest's GSTEP_*) and, for a compute burst, its length in ns. */
  kind = 0;
  ns = 0;
  /** The task whose compute or touch the step ran, or the task switched to (-1: none). */
  task = -1;
  /** The frame the step's handler instruction ran in (FRAME_*). */
  frame = FRAME_NONE;
  /** The step woke the sleeper of `wakeToken` (kvm_async_pf_task_wake for a page-ready). */
  wakes = false;
  wakeToken = 0;

  /** The start of a run step. `kind` and `task` are left: every guest step writes them. */
  reset(entering: boolean): void {
    this.entering = entering;
    this.excInjected = 0;
    this.irqInjected = 0;
    this.acks = 0;
    this.fixed = 0;
    this.refaults = 0;
    this.mmuLocked = 0;
    this.refaultSrc = -1;
    this.ns = 0;
    this.frame = FRAME_NONE;
    this.wakes = false;
  }
}
