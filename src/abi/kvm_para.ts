// uapi: arch/x86/include/uapi/asm/kvm_para.h (x86-apf §1). Constants and layouts only, no logic.

/** KVM's paravirtual MSR range starts at 0x4b564d00 ("KVM\0"). x86-apf §1.1 */
export const MSR_KVM_WALL_CLOCK = 0x11;
export const MSR_KVM_SYSTEM_TIME = 0x12;
export const MSR_KVM_WALL_CLOCK_NEW = 0x4b564d00;
export const MSR_KVM_SYSTEM_TIME_NEW = 0x4b564d01;
export const MSR_KVM_ASYNC_PF_EN = 0x4b564d02;
export const MSR_KVM_STEAL_TIME = 0x4b564d03;
export const MSR_KVM_PV_EOI_EN = 0x4b564d04;
export const MSR_KVM_POLL_CONTROL = 0x4b564d05;
export const MSR_KVM_ASYNC_PF_INT = 0x4b564d06;
export const MSR_KVM_ASYNC_PF_ACK = 0x4b564d07;
export const MSR_KVM_MIGRATION_CONTROL = 0x4b564d08;

/** MSR_KVM_ASYNC_PF_EN bits. x86-apf §1.2 */
export const KVM_ASYNC_PF_ENABLED = 1 << 0;
export const KVM_ASYNC_PF_SEND_ALWAYS = 1 << 1;
export const KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT = 1 << 2;
export const KVM_ASYNC_PF_DELIVERY_AS_INT = 1 << 3;
/** MSR_KVM_ASYNC_PF_INT: bits 7:0 are the vector, the rest is reserved. x86-apf §1.3 */
export const KVM_ASYNC_PF_VEC_MASK = 0xff;

/** CPUID 0x40000001 (KVM_CPUID_FEATURES) EAX bit numbers. x86-apf §1.5 */
export const KVM_CPUID_SIGNATURE = 0x40000000;
export const KVM_CPUID_FEATURES = 0x40000001;
export const KVM_FEATURE_CLOCKSOURCE = 0;
export const KVM_FEATURE_NOP_IO_DELAY = 1;
export const KVM_FEATURE_MMU_OP = 2;
export const KVM_FEATURE_CLOCKSOURCE2 = 3;
export const KVM_FEATURE_ASYNC_PF = 4;
export const KVM_FEATURE_STEAL_TIME = 5;
export const KVM_FEATURE_PV_EOI = 6;
export const KVM_FEATURE_PV_UNHALT = 7;
export const KVM_FEATURE_PV_TLB_FLUSH = 9;
export const KVM_FEATURE_ASYNC_PF_VMEXIT = 10;
export const KVM_FEATURE_PV_SEND_IPI = 11;
export const KVM_FEATURE_POLL_CONTROL = 12;
export const KVM_FEATURE_PV_SCHED_YIELD = 13;
export const KVM_FEATURE_ASYNC_PF_INT = 14;
export const KVM_FEATURE_MSI_EXT_DEST_ID = 15;
export const KVM_FEATURE_HC_MAP_GPA_RANGE = 16;
export const KVM_FEATURE_MIGRATION_CONTROL = 17;
export const KVM_FEATURE_CLOCKSOURCE_STABLE_BIT = 24;

/** `flags` values in the shared area (`reason` in the legacy layout). x86-apf §1.7 */
export const KVM_PV_REASON_PAGE_NOT_PRESENT = 1;
export const KVM_PV_REASON_PAGE_READY = 2;

/**
 * struct kvm_vcpu_pv_apf_data (E3+), x86-apf §1.6: { u32 flags; u32 token; u8 pad[56]; u32 enabled; },
 * 64-byte aligned. `enabled` is guest-private; the host never touches it.
 */
export const kvm_vcpu_pv_apf_data = {
  flags: { offset: 0, size: 4 },
  token: { offset: 4, size: 4 },
  pad: { offset: 8, size: 56 },
  enabled: { offset: 64, size: 4 },
} as const;
/** Legacy layout (≤5.7): { u32 reason; u8 pad[60]; u32 enabled; }. x86-apf §1.6 */
export const kvm_vcpu_pv_apf_data_legacy = {
  reason: { offset: 0, size: 4 },
  pad: { offset: 4, size: 60 },
  enabled: { offset: 64, size: 4 },
} as const;

/** Hypercall return for a missing PV feature (x86-apf §8 case 24). */
export const KVM_ENOSYS = 1000;
