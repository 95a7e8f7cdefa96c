// The Linux guest's whole state as plain mutable data: a few scalars and struct-of-typed-arrays for the
// CPUs and the tasks, so that a step changes it in place, the explorer can copy and encode it
// (encode.ts), and the hot path allocates nothing. Constants name every program counter the handlers
// and the scheduler use.
import { checkLinuxGuestConfig, type LinuxGuestConfig, wakeAllFreesDummies } from './config.ts';
import { PANIC_NONE } from './panic.ts';
import { newSleepTable, type SleepTable } from './sleep_table.ts';

// Task states (task->__state, reduced).
export const TASK_FREE = 0;
export const TASK_RUNNABLE = 1;
export const TASK_RUNNING = 2;
/** TASK_UNINTERRUPTIBLE in kvm_async_pf_task_wait_schedule. */
export const TASK_SLEEPING = 3;
export const TASK_EXITED = 4;

// Where a task is in the kernel when it is not in user mode (its kernel stack, in effect).
export const KPC_USER = 0;
/**
 * In the wait loop of kvm_async_pf_task_wait_schedule, entered from the #PF hook (x86-apf §4.4), or in
 * the legacy guest the scheduling wait of kvm_async_pf_task_wait (x86-apf §5.3).
 */
export const KPC_APF_WAIT = 1;
/** The same loop, entered from kvm_handle_page_fault of L1's KVM after a #PF VM-exit (x86-apf §4.7). */
export const KPC_NESTED_APF_WAIT = 2;

// The exception frame on a CPU (cpu.excPc).
export const EXC_NONE = 0;
/** exc_page_fault → kvm_handle_async_pf: kvm_read_and_reset_apf_flags. */
export const PF_READ_FLAGS = 1;
/**
 * __kvm_handle_async_pf: normal fault, panic, WARN, or queue the task and sleep. In the legacy guest,
 * do_async_page_fault's switch on the reason (legacy_pf.ts).
 */
export const PF_HANDLE = 2;
/** L1 KVM's #PF VM-exit (irqoff part): host_apf_flags := kvm_read_and_reset_apf_flags(). */
export const NPF_READ_FLAGS = 3;
/** L1 KVM's kvm_handle_page_fault. */
export const NPF_HANDLE = 4;

// The interrupt frame on a CPU (cpu.irqPc). x86-apf §4.5: each line is one instruction.
export const IRQ_NONE = 0;
export const IRQ_EOI = 1;
export const IRQ_STAT = 2;
export const IRQ_READ_TOKEN = 3;
export const IRQ_WAKE = 4;
export const IRQ_CLEAR_TOKEN = 5;
export const IRQ_ACK = 6;
/** IRET after a #GP fixup inside the handler. */
export const IRQ_IRET = 7;
/** Any other vector (spurious, or 0xf3 with no handler installed): EOI and return. */
export const IRQ_OTHER = 8;
/** RESCHEDULE_VECTOR: EOI, set need_resched, return. */
export const IRQ_RESCHED = 9;

// What a guest step did, for the simulator's time accounting: the kind the step writes into its VM's
// StepEffects (host/x86/step_effects.ts, `kind`).
export const GSTEP_NONE = 0;
/** A user compute burst of `ns` (StepEffects.ns) nanoseconds. */
export const GSTEP_COMPUTE = 1;
/** A memory access that completed without leaving the guest. */
export const GSTEP_TOUCH = 2;
/** A memory access that exited to the host MMU, which fixed it (RET_PF_FIXED/MMIO): it completed. */
export const GSTEP_TOUCH_FIXED = 3;
/** A memory access that exited and did not complete (RET_PF_RETRY or RET_PF_SYNC): it will re-execute. */
export const GSTEP_TOUCH_EXIT = 4;
export const GSTEP_CONTEXT_SWITCH = 5;
/** One instruction of an exception or interrupt handler. */
export const GSTEP_HANDLER = 6;
/** One instruction of boot, hotplug or disable code (WRMSR, flag store, STI …). */
export const GSTEP_KERNEL = 7;
/** `sti; hlt` of the idle task, or `cli; hlt` of an offline CPU. */
export const GSTEP_HALT = 8;
export const GSTEP_TASK_EXIT = 9;

/** Kernel-work queue slots per CPU (cpu_init.ts pushes at most a dozen ops per request). */
export const KQ_CAP = 16;

/** Saved context of an interrupted frame: bit 0 = RFLAGS.IF, bits 1–2 = CPL. */
export const packSaved = (rflagsIf: boolean, cpl: number): number => (rflagsIf ? 1 : 0) | ((cpl & 3) << 1);
export const savedIf = (s: number): boolean => (s & 1) !== 0;
export const savedCpl = (s: number): number => (s >>> 1) & 3;

/** Per-CPU state, one array element per CPU (= vcpu_id). */
export interface CpuState {
  /** 1 when the CPU is online (scheduling), 0 when parked in `cli; hlt`. */
  readonly online: Int32Array;
  /** The running task, or -1 for the idle task. */
  readonly curr: Int32Array;
  readonly needResched: Int32Array;
  /** Actions the current task completed since it was switched in (slice_actions). */
  readonly sliceUsed: Int32Array;
  readonly excPc: Int32Array;
  /** (u32)CR2 at the #PF, or the fault address of the #PF VM-exit. */
  readonly excToken: Uint32Array;
  readonly excErrorCode: Int32Array;
  readonly excFlags: Uint32Array;
  readonly excSaved: Int32Array;
  readonly irqPc: Int32Array;
  readonly irqVector: Int32Array;
  readonly irqToken: Uint32Array;
  readonly irqSaved: Int32Array;
  /** A WRMSR to this MSR faulted and its #GP is still to come (ex_handler_msr fixup); 0 when none. */
  readonly gpFixupMsr: Int32Array;
  readonly gpFixupValue: Float64Array;
  /** The separate per-CPU `async_pf_enabled` bool (config.enabled_flag === 'percpu'). */
  readonly percpuEnabled: Int32Array;
  /**
   * Legacy guest: the sleep node of a halted wait in progress on this CPU (kvm_async_pf_task_wait with
   * `n.halted`: the `sti; hlt` loop inside the #PF handler), or -1. The waiter is the current task (an
   * atomic context) or the idle task (node cpuNode(c)). While it lasts the CPU runs nothing else but
   * handlers: it cannot schedule.
   */
  readonly haltNode: Int32Array;
  /** The context the halted wait's #PF interrupted (packSaved), restored when the wait ends. */
  readonly haltSaved: Int32Array;
  /** Kernel work: ops kq[cpu * KQ_CAP + kqPos .. kqLen) (cpu_init.ts). */
  readonly kq: Int32Array;
  readonly kqPos: Int32Array;
  readonly kqLen: Int32Array;
  /** Runqueue: a ring of task ids, rq[cpu * max_tasks + (rqHead + i) % max_tasks]. */
  readonly rq: Int32Array;
  readonly rqHead: Int32Array;
  readonly rqLen: Int32Array;
  // Statistics (not encoded).
  /** irq_hv_callback_count of /proc/interrupts ("HYP"). */
  readonly irq_hv_callback_count: Float64Array;
  readonly contextSwitches: Float64Array;
  readonly spuriousIrqs: Float64Array;
  readonly reschedIpis: Float64Array;
  readonly halts: Float64Array;
}

/** Per-task state, one array element per task slot. */
export interface TaskState {
  readonly state: Int32Array;
  /** The CPU whose runqueue holds the task (or that runs it). */
  readonly cpu: Int32Array;
  readonly kpc: Int32Array;
  /** Completed actions (the program counter handed to TaskProgram.next). */
  readonly pc: Float64Array;
  /** The fetched, not yet completed action: ACT_* (task_exec.ts), 0 = none. */
  readonly actKind: Int32Array;
  /** ACTF_* bits: write, mode. */
  readonly actFlags: Int32Array;
  readonly actGpa: Float64Array;
  readonly actNs: Float64Array;
  /** The token the task sleeps on (also in its sleep node). */
  readonly waitToken: Uint32Array;
  /** For an L1 vCPU thread: its struct kvm_vcpu's arch.apf.host_apf_flags (x86-apf §4.7). */
  readonly host_apf_flags: Uint32Array;
  // Statistics (not encoded).
  readonly bursts: Float64Array;
  readonly touches: Float64Array;
  readonly retries: Float64Array;
  readonly sleeps: Float64Array;
}

export interface GuestCounters {
  /** #PFs with flags = 0, left to the normal page-fault path. */
  normalPageFaults: number;
  asyncPfSleeps: number;
  /** Legacy guest: 'not present' waits taken as halted waits (idle task, atomic context). */
  haltedApfWaits: number;
  /** Legacy guest: 'page ready' #PFs (reason 2) handled. */
  pageReadyFaults: number;
  nestedApfSleeps: number;
  nestedNormalFaults: number;
  panics: number;
  warnings: number;
  acks: number;
  ackFaults: number;
}

export interface LinuxGuestState {
  readonly config: LinuxGuestConfig;
  readonly ncpus: number;
  /** The static key kvm_async_pf_enabled (gates the #PF hook). */
  kvm_async_pf_enabled: boolean;
  /** sysvec_install(HYPERVISOR_CALLBACK_VECTOR, sysvec_kvm_asyncpf_interrupt) happened. */
  sysvec_installed: boolean;
  /** The CPU that panicked, or -1. A panicked guest executes nothing more. */
  panicked: number;
  /** PANIC_* (handlers.ts) of the panic, 0 when none. */
  panicReason: number;
  /** WARN_ONCE state of "Unexpected async PF flags" (#PF hook). */
  warnedUnexpectedFlags: boolean;
  /** WARN_ONCE state of "Unexpected host async PF flags" (L1 KVM). */
  warnedUnexpectedHostFlags: boolean;
  /** pr_warn_once state of "unchecked MSR access error". */
  warnedMsrFault: boolean;
  /** Task slots in use (tasks are never freed; an exited task keeps its slot). */
  nTasks: number;
  readonly sleepers: SleepTable;
  readonly cpu: CpuState;
  readonly task: TaskState;
  readonly counters: GuestCounters;
}

export function newLinuxGuestState(config: LinuxGuestConfig, ncpus: number): LinuxGuestState {
  checkLinuxGuestConfig(config);
  const nt = config.max_tasks;
  const i32 = (): Int32Array => new Int32Array(ncpus);
  const f64 = (): Float64Array => new Float64Array(ncpus);
  return {
    config,
    ncpus,
    kvm_async_pf_enabled: false,
    sysvec_installed: false,
    panicked: -1,
    panicReason: PANIC_NONE,
    warnedUnexpectedFlags: false,
    warnedUnexpectedHostFlags: false,
    warnedMsrFault: false,
    nTasks: 0,
    sleepers: newSleepTable(nt, config.max_dummies, ncpus, wakeAllFreesDummies(config)),
    cpu: {
      online: new Int32Array(ncpus).fill(1),
      curr: new Int32Array(ncpus).fill(-1),
      needResched: i32(),
      sliceUsed: i32(),
      excPc: i32(),
      excToken: new Uint32Array(ncpus),
      excErrorCode: i32(),
      excFlags: new Uint32Array(ncpus),
      excSaved: i32(),
      irqPc: i32(),
      irqVector: i32(),
      irqToken: new Uint32Array(ncpus),
      irqSaved: i32(),
      gpFixupMsr: i32(),
      gpFixupValue: f64(),
      percpuEnabled: i32(),
      haltNode: new Int32Array(ncpus).fill(-1),
      haltSaved: i32(),
      kq: new Int32Array(ncpus * KQ_CAP),
      kqPos: i32(),
      kqLen: i32(),
      rq: new Int32Array(ncpus * nt),
      rqHead: i32(),
      rqLen: i32(),
      irq_hv_callback_count: f64(),
      contextSwitches: f64(),
      spuriousIrqs: f64(),
      reschedIpis: f64(),
      halts: f64(),
    },
    task: {
      state: new Int32Array(nt),
      cpu: new Int32Array(nt),
      kpc: new Int32Array(nt),
      pc: new Float64Array(nt),
      actKind: new Int32Array(nt),
      actFlags: new Int32Array(nt),
      actGpa: new Float64Array(nt),
      actNs: new Float64Array(nt),
      waitToken: new Uint32Array(nt),
      host_apf_flags: new Uint32Array(nt),
      bursts: new Float64Array(nt),
      touches: new Float64Array(nt),
      retries: new Float64Array(nt),
      sleeps: new Float64Array(nt),
    },
    counters: {
      normalPageFaults: 0,
      asyncPfSleeps: 0,
      haltedApfWaits: 0,
      pageReadyFaults: 0,
      nestedApfSleeps: 0,
      nestedNormalFaults: 0,
      panics: 0,
      warnings: 0,
      acks: 0,
      ackFaults: 0,
    },
  };
}
