// Boot-time configuration of the modelled Linux guest (x86-apf §4.1, §5.3): which kernel generation it
// is, what CPUID tells it, the kernel command line and .config, where its per-CPU data lives in guest
// RAM, the bounds of its fixed-size pools, and the guest-side bug switches.
import { KVM_FEATURE_ASYNC_PF, KVM_FEATURE_ASYNC_PF_INT } from '../../../abi/kvm_para.ts';
import { BUG_WAKE_ALL_LEAKS_DUMMIES, type BugSet } from '../../../host/x86/bugs.ts';
import type { GuestVariant } from '../guest_behaviour.ts';

/**
 * The guest kernel generation.
 * - `linux-4.19`: the legacy guest of x86-apf §5.3 ([GUEST-4.19]; the code is the same from 4.15 to
 *   5.7): enabled by KVM_FEATURE_ASYNC_PF alone, 'page ready' is a second #PF with reason 2, no INT or
 *   ACK MSR, SEND_ALWAYS iff CONFIG_PREEMPT, halted waits where the kernel cannot schedule.
 * - `linux-5.10`: the interrupt-based guest of x86-apf §4 with `enabled` at offset 64 of `apf_reason`
 *   ([GUEST-5.10]; 5.8 – 6.7).
 * - `linux-6.x`: the same protocol with the separate per-CPU `async_pf_enabled` bool (2023).
 */
export type LinuxGuestKind = 'linux-4.19' | 'linux-5.10' | 'linux-6.x';
export const LINUX_GUEST_KINDS: readonly LinuxGuestKind[] = ['linux-4.19', 'linux-5.10', 'linux-6.x'];

/**
 * Where the per-CPU "async PF is on" flag lives.
 * - `'apf_reason'`: the u32 `enabled` at offset 64 of `struct kvm_vcpu_pv_apf_data` (guests 5.8 – 6.7,
 *   x86-apf §1.6, §4.2). The host never reads it, but it is guest RAM, so a test can poke it.
 * - `'percpu'`: a separate per-CPU bool `async_pf_enabled` (Xiaoyao Li / Sean Christopherson, "x86/kvm:
 *   Use separate percpu variable to track the enabling of asyncpf", 2023; the uapi struct lost
 *   `enabled`). Behaviour is identical; only the storage differs.
 */
export type EnabledFlagLayout = 'apf_reason' | 'percpu';

export interface LinuxGuestConfig {
  kind: LinuxGuestKind;
  /**
   * CONFIG_PREEMPT. Only the legacy guest reads it: it sets SEND_ALWAYS (so the host may inject 'not
   * present' at CPL 0) and implies CONFIG_PREEMPT_COUNT, which decides between a scheduling and a halted
   * wait (x86-apf §5.3). A ≥5.8 guest never sets SEND_ALWAYS (3a7c8fafd1b4), PREEMPT or not.
   */
  preempt: boolean;
  /** CPUID 0x40000001.eax as the guest reads it (`kvm_para_has_feature`). */
  kvm_features: number;
  /** `no-kvmapf` on the kernel command line (x86-apf §4.1, §8 case 63). */
  no_kvmapf: boolean;
  /** GPA of CPU 0's `apf_reason`; 64-byte aligned (x86-apf §1.6). */
  apf_reason_base: number;
  /** Distance between two CPUs' `apf_reason` areas: a multiple of 64, at least 128 (68 bytes used). */
  apf_reason_stride: number;
  enabled_flag: EnabledFlagLayout;
  /** Task slots (the idle tasks are not counted). Bounds runqueues and the sleepers' on-stack nodes. */
  max_tasks: number;
  /** kzalloc'd dummy sleep nodes the model can hold at once; an exhausted pool is an allocation failure. */
  max_dummies: number;
  /**
   * Preempt a user task after this many completed actions when another task is runnable (a stand-in
   * for the tick); 0 never preempts, so a task runs until it sleeps or exits.
   */
  slice_actions: number;
  /**
   * Software-enable the LAPIC (SVR := 0x1ff) during boot, as setup_local_APIC does. The boot CPU does it
   * after kvm_guest_cpu_init (late_time_init runs after smp_prepare_boot_cpu), secondary CPUs before
   * (their APIC is set up before the CPU-online callbacks run).
   */
  apic_enable_at_boot: boolean;
  /**
   * Guest-side bug switches (src/host/x86/bugs.ts, docs/bugs-guest.md): `ack-before-clear` (the page-ready
   * handler writes ACK before clearing the token), `int-after-en` (kvm_guest_cpu_init writes EN before
   * INT), `wake-all-leaks-dummies` (forces the leak even with `wake_all_frees_dummies`). Other bits are
   * the host's and are ignored here.
   */
  bugs: BugSet;
  /**
   * A hypothetical fixed apf_task_wake_all that kfree()s the dummy nodes it unlinks. No kernel has it: every
   * generation modelled leaks them (x86-apf §4.4, §9 item 6), so the faithful default is false.
   */
  wake_all_frees_dummies: boolean;
  /** Variants that change the guest (guest_behaviour.ts), applied after the bug switches; absent: none. */
  variants?: readonly GuestVariant[];
}

export const defaultLinuxGuestConfig = (kvm_features: number): LinuxGuestConfig => ({
  kind: 'linux-5.10',
  preempt: false,
  kvm_features,
  no_kvmapf: false,
  apf_reason_base: 0x10000,
  apf_reason_stride: 128,
  enabled_flag: 'apf_reason',
  max_tasks: 16,
  max_dummies: 16,
  slice_actions: 0,
  apic_enable_at_boot: true,
  bugs: 0,
  wake_all_frees_dummies: false,
});

/** The defaults for a guest kind: only where `enabled` lives differs between the two ≥5.8 kinds. */
export const linuxGuestConfigFor = (kind: LinuxGuestKind, kvm_features: number): LinuxGuestConfig => ({
  ...defaultLinuxGuestConfig(kvm_features),
  kind,
  enabled_flag: kind === 'linux-6.x' ? 'percpu' : 'apf_reason',
});

/** The #PF-based ('page ready' by #PF) guest of x86-apf §5.3. */
export const isLegacyGuest = (c: LinuxGuestConfig): boolean => c.kind === 'linux-4.19';

/** Whether apf_task_wake_all kfree()s the dummies it unlinks: only the hypothetical fix, without the bug. */
export const wakeAllFreesDummies = (c: LinuxGuestConfig): boolean =>
  c.wake_all_frees_dummies && (c.bugs & BUG_WAKE_ALL_LEAKS_DUMMIES) === 0;

/** Rejects configurations the model cannot represent (a model-usage bug, so it throws). */
export function checkLinuxGuestConfig(c: LinuxGuestConfig): void {
  if (!Number.isSafeInteger(c.apf_reason_base) || c.apf_reason_base < 0 || c.apf_reason_base % 64 !== 0)
    throw new RangeError(`apf_reason_base ${c.apf_reason_base} must be a 64-byte aligned GPA`);
  if (c.apf_reason_stride % 64 !== 0 || c.apf_reason_stride < 128)
    throw new RangeError(`apf_reason_stride ${c.apf_reason_stride} must be a multiple of 64, at least 128`);
  if (c.max_tasks < 1 || c.max_tasks > 4096) throw new RangeError(`max_tasks ${c.max_tasks}`);
  if (c.max_dummies < 0 || c.max_dummies > 4096) throw new RangeError(`max_dummies ${c.max_dummies}`);
  if (c.kind === 'linux-4.19' && c.enabled_flag !== 'apf_reason')
    throw new RangeError('the legacy guest keeps `enabled` in apf_reason (offset 64)');
}

/** @kernel kvm_para_has_feature */
export const kvm_para_has_feature = (c: LinuxGuestConfig, feature: number): boolean =>
  ((c.kvm_features >>> feature) & 1) === 1;

/**
 * The enablement decision (x86-apf §4.1, §5.3): KVM_FEATURE_ASYNC_PF_INT and no `no-kvmapf` for a ≥5.8
 * guest, for which KVM_FEATURE_ASYNC_PF alone is not enough; KVM_FEATURE_ASYNC_PF and no `no-kvmapf` for
 * the legacy guest (its kvm_guest_cpu_init tests exactly that).
 */
export const asyncPfWanted = (c: LinuxGuestConfig): boolean =>
  kvm_para_has_feature(c, isLegacyGuest(c) ? KVM_FEATURE_ASYNC_PF : KVM_FEATURE_ASYNC_PF_INT) && !c.no_kvmapf;
