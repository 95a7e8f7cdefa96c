// Host-internal constants of include/linux/kvm_host.h and arch/x86/include/asm/kvm_host.h that are
// observable through behaviour (x86-apf §1.9, §1.10), plus the exception vectors (uapi asm/kvm.h) and
// the guest's page-ready vector (asm/irq_vectors.h) that host and guests share. No logic. The uapi
// values (KVM_MP_STATE_*, KVM_CAP_*) live in kvm.ts.

/** Maximum outstanding async works per vCPU, and the size of the gfn hash (a power of two). */
export const ASYNC_PF_PER_VCPU = 64;
/** Empty gfn-hash slot: gfn_t all-ones. */
export const GFN_HASH_EMPTY = -1; // stands for ~0ULL; real gfns are non-negative
/** hash_32's multiplier since Linux 4.7 (older kernels used 0x9e370001). */
export const GOLDEN_RATIO_32 = 0x61c88647;
/** The broadcast "wake up all" token. */
export const APF_WAKEUP_ALL_TOKEN = 0xffffffff;

/** KVM request bits (KVM_ARCH_REQ numbers as in 6.x; only their identity matters). */
export const KVM_REQ_EVENT = 1 << 0;
export const KVM_REQ_APF_HALT = 1 << 1;
export const KVM_REQ_APF_READY = 1 << 2;

/** Exception vectors used by APF. */
export const DE_VECTOR = 0;
export const DF_VECTOR = 8;
export const GP_VECTOR = 13;
export const PF_VECTOR = 14;
/** Linux guests' page-ready vector (HYPERVISOR_CALLBACK_VECTOR). x86-apf §1.8 */
export const HYPERVISOR_CALLBACK_VECTOR = 0xf3;
