// What one x86 explore world is made of, as plain data: the host (era, bug switches, VM shape), the guest
// (the Linux ≥5.8 guest with a few tasks running fixed programs, or the bare test guest running a fixed
// op list per vCPU), the environment's budgets and the properties to check. The scenario loader
// (scenario.ts) produces it from YAML; tests build it directly.
import type { LinuxGuestKind } from '../../guest/x86/linux/config.ts';
import type { TaskAction } from '../../guest/x86/linux/program.ts';
import type { BugName } from '../../host/x86/bugs.ts';
import type { EraName } from '../../host/x86/era.ts';
import type { HostMapCaller, HostMapsConfig } from '../../host/x86/host_maps.ts';
import type { HostMmOpName } from '../../host/x86/primary_mmu.ts';
import type { Handlers, Op } from '../../script/schema.ts';
import type { PropertyName } from './properties.ts';

/**
 * Environment steps: things that happen to a vCPU from outside the guest's program, each bounded by a
 * budget kept in the state (so the state space stays finite).
 * - `en_rewrite`: the VMM rewrites MSR_KVM_ASYNC_PF_EN with its current value (KVM_SET_MSRS on migration
 *   restore): a re-enable, which queues a wakeup-all when `done` is empty.
 * - `svr_toggle`: the guest software-disables its LAPIC (SVR := 0xff), or enables it again (0x1ff).
 * - `smi`: an SMI (SMM entry clears CR0.PG and IF), the vCPU's next instruction being RSM: the CR0.PG
 *   toggle of x86-apf §6.1 item 11.
 * - `init`: INIT (kvm_vcpu_reset). With the Linux guest it is a CPU hotplug cycle: the guest takes the CPU
 *   offline, INIT arrives once it is parked, and the CPU is brought online again.
 * - `evict`: the host reclaims a resident program page (a later access needs I/O again, so a new token).
 */
export const ENV_KINDS = ['en_rewrite', 'svr_toggle', 'smi', 'init', 'evict'] as const;
export type EnvKind = (typeof ENV_KINDS)[number];
export type EnvBudgets = Readonly<Record<EnvKind, number>>;

export const noEnv = (): EnvBudgets => ({ en_rewrite: 0, svr_toggle: 0, smi: 0, init: 0, evict: 0 });

export interface LinuxTaskSpec {
  /** The CPU whose runqueue the task starts on. */
  readonly cpu: number;
  /** Its actions, in order; the task exits after the last one. */
  readonly program: readonly TaskAction[];
}

export interface LinuxGuestSpec {
  readonly kind: 'linux';
  /** The guest kernel generation: the legacy #PF-based guest (linux-4.19) or a ≥5.8 one. */
  readonly kernel: LinuxGuestKind;
  /** CONFIG_PREEMPT (the legacy guest then sets SEND_ALWAYS). */
  readonly preempt: boolean;
  readonly tasks: readonly LinuxTaskSpec[];
  /** Dummy sleep nodes the guest can hold at once (the encoding pads the sleep table to tasks + this). */
  readonly max_dummies: number;
  /** 0: a task runs until it sleeps or exits; n: it yields after n actions when another task waits. */
  readonly slice_actions: number;
  /** The guest enables its LAPIC during boot (after kvm_guest_cpu_init on the boot CPU). */
  readonly apic_enable_at_boot: boolean;
  /** The hypothetical apf_task_wake_all that frees the dummies it unlinks (no kernel has it). */
  readonly wake_all_frees_dummies: boolean;
}

export interface BareGuestSpec {
  readonly kind: 'bare';
  /** Ops per vCPU (the script op subset that runs inside the guest); afterwards the vCPU idles (sti; hlt). */
  readonly programs: readonly (readonly Op[])[];
  readonly handlers: Handlers;
  /** The bare guest's `ack-before-clear` switch (a guest bug). */
  readonly ack_before_clear: boolean;
}

export type GuestSpec = LinuxGuestSpec | BareGuestSpec;

export interface ExploreVmSpec {
  readonly vcpus: number;
  readonly memory: number;
  readonly irqchip: boolean;
  readonly kvm_features: number;
  readonly enforce_pv_cpuid: boolean;
  readonly tdp: boolean;
  readonly hlt_in_guest: boolean;
  readonly protected_state: boolean;
  /** Bare guest only: CR0.PG at start (`long`) or paging off (`real`). */
  readonly guest_mode: 'long' | 'real';
  /** Whether the host carries 5bb9ac186512 (default per era). */
  readonly pv_msr_unsupported?: boolean;
  /** Whether the host carries 2f15d027c05f (default per era: 5.8–5.12 as released do not). */
  readonly lapic_dequeue_gate?: boolean;
}

/**
 * KVM's MMU notifiers in an explore world (docs/mmu.md): the fault path takes the invalidate-sequence
 * snapshot and re-checks it under mmu_lock; `evict` and the host memory operations run through
 * invalidate_range_start/end, one part per step.
 */
export interface ExploreMmuSpec {
  /** Split the fault at GUP, so host operations interleave before its mmu_lock part. */
  readonly split_fault: boolean;
  /** The initial mmu_invalidate_seq (2^31 reaches the mmu-seq-sign-extension hang). */
  readonly seq_start: number;
  /** Host memory operations the environment may start on a program page (primary_mmu.ts HOST_MM_OPS). */
  readonly ops: readonly HostMmOpName[];
  /** How many it may start in all. */
  readonly budget: number;
  /**
   * The MMU memory caches (docs/mmu.md, "Memory caches in the model"): topups, the paging-structure
   * pages an install takes, KVM_RUN errors and host BUGs. Adds state words, so it is its own option.
   */
  readonly caches?: boolean;
  /**
   * The environment's host memory pressure (needs `caches`): `budget` times, at a point of its choosing,
   * the host allocator grants `after` more allocations and then fails `fails` (-1: all later ones).
   */
  readonly alloc_fail?: { readonly after: number; readonly fails: number; readonly budget: number };
}

/** One host-internal caller of the guest mapping API in an explore world (map_actor.ts). */
export interface ExploreMapCallerSpec {
  readonly caller: HostMapCaller;
  /** The page it maps. */
  readonly gfn: number;
  /** The vCPU whose kvm_vcpu_map it is (its SMM state and, for steal time, its gfn_to_pfn_cache). */
  readonly vcpu: number;
  /** How many map → (write) → unmap cycles it runs. */
  readonly cycles: number;
}

/** The guest mapping API in an explore world (docs/mmu.md, "Guest mapping"). */
export interface ExploreMapsSpec {
  /** The host backing and module parameters (host_maps.ts); the switches come from `bugs`. */
  readonly host: HostMapsConfig;
  readonly callers: readonly ExploreMapCallerSpec[];
}

export interface ExploreWorldConfig {
  readonly era: EraName;
  readonly bugs: readonly BugName[];
  /**
   * Variant modules (docs/variants.md): as written in the scenario until the command loads them, then
   * named relative to the working directory (src/variant/load.ts resolveVariants). Empty: none.
   */
  readonly variants?: readonly string[];
  readonly vm: ExploreVmSpec;
  readonly guest: GuestSpec;
  readonly env: EnvBudgets;
  /** The checks to run; see properties.ts and docs/properties.md. */
  readonly properties: readonly PropertyName[];
  /** Store one representative per orbit of interchangeable tasks (symmetry.ts). */
  readonly symmetry: boolean;
  /** The MMU-notifier model; absent: faults and evictions are atomic, as before it existed. */
  readonly mmu?: ExploreMmuSpec;
  /** Host-internal callers of kvm_vcpu_map; absent: the world has no guest maps. */
  readonly maps?: ExploreMapsSpec;
}

/** CPUID 0x40000001.eax of the reference host (QEMU's default KVM leaves). */
export const DEFAULT_KVM_FEATURES = 0x01007efb;

export const defaultVm = (o: Partial<ExploreVmSpec> = {}): ExploreVmSpec => ({
  vcpus: 1,
  memory: 64 * 1024,
  irqchip: true,
  kvm_features: DEFAULT_KVM_FEATURES,
  enforce_pv_cpuid: false,
  tdp: true,
  hlt_in_guest: false,
  protected_state: false,
  guest_mode: 'long',
  ...o,
});

/** GPA of CPU 0's apf_reason in explore worlds (CPU n's is 128 bytes further per CPU). */
export const LINUX_APF_REASON_BASE = 0x1000;
