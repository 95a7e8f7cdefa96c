// Boot-time configuration of the modelled Linux guest (x86-apf §4.1): what CPUID tells it, the kernel
// command line, where its per-CPU data lives in guest RAM, and the bounds of its fixed-size pools.
import { KVM_FEATURE_ASYNC_PF_INT } from '../../../abi/kvm_para.ts';

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
}

export const defaultLinuxGuestConfig = (kvm_features: number): LinuxGuestConfig => ({
  kvm_features,
  no_kvmapf: false,
  apf_reason_base: 0x10000,
  apf_reason_stride: 128,
  enabled_flag: 'apf_reason',
  max_tasks: 16,
  max_dummies: 16,
  slice_actions: 0,
  apic_enable_at_boot: true,
});

/** Rejects configurations the model cannot represent (a model-usage bug, so it throws). */
export function checkLinuxGuestConfig(c: LinuxGuestConfig): void {
  if (!Number.isSafeInteger(c.apf_reason_base) || c.apf_reason_base < 0 || c.apf_reason_base % 64 !== 0)
    throw new RangeError(`apf_reason_base ${c.apf_reason_base} must be a 64-byte aligned GPA`);
  if (c.apf_reason_stride % 64 !== 0 || c.apf_reason_stride < 128)
    throw new RangeError(`apf_reason_stride ${c.apf_reason_stride} must be a multiple of 64, at least 128`);
  if (c.max_tasks < 1 || c.max_tasks > 4096) throw new RangeError(`max_tasks ${c.max_tasks}`);
  if (c.max_dummies < 0 || c.max_dummies > 4096) throw new RangeError(`max_dummies ${c.max_dummies}`);
}

/** @kernel kvm_para_has_feature */
export const kvm_para_has_feature = (c: LinuxGuestConfig, feature: number): boolean =>
  ((c.kvm_features >>> feature) & 1) === 1;

/**
 * The enablement decision of kvm_guest_init (x86-apf §4.1): KVM_FEATURE_ASYNC_PF_INT and no `no-kvmapf`.
 * KVM_FEATURE_ASYNC_PF alone is not enough for a ≥5.8 guest.
 */
export const kvm_async_pf_wanted = (c: LinuxGuestConfig): boolean =>
  kvm_para_has_feature(c, KVM_FEATURE_ASYNC_PF_INT) && !c.no_kvmapf;
