// The three APF MSRs in kvm_set_msr_common / kvm_get_msr_common (x86-apf §3.1–§3.4, kvm-oracle §3),
// with guest_pv_has and the guest vs host-initiated rules. Results use the kernel's vocabulary: 0 is
// success, 1 is failure (#GP for the guest), KVM_MSR_RET_UNSUPPORTED is a feature-gate failure that a
// host access may turn into success.
import {
  KVM_ASYNC_PF_DELIVERY_AS_INT,
  KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT,
  KVM_ASYNC_PF_SEND_ALWAYS,
  KVM_FEATURE_ASYNC_PF,
  KVM_FEATURE_ASYNC_PF_INT,
  KVM_FEATURE_ASYNC_PF_VMEXIT,
  MSR_KVM_ASYNC_PF_ACK,
  MSR_KVM_ASYNC_PF_EN,
  MSR_KVM_ASYNC_PF_INT,
  MSR_KVM_POLL_CONTROL,
  MSR_KVM_PV_EOI_EN,
  MSR_KVM_STEAL_TIME,
  MSR_KVM_SYSTEM_TIME,
  MSR_KVM_SYSTEM_TIME_NEW,
  MSR_KVM_WALL_CLOCK,
  MSR_KVM_WALL_CLOCK_NEW,
} from '../../abi/kvm_para.ts';
import { kvm_gfn_to_hva_cache_init } from '../../mem/hva_cache.ts';
import { kvm_pv_async_pf_enabled } from './apf.ts';
import {
  kvm_async_pf_wakeup_all,
  kvm_check_async_pf_completion,
  kvm_clear_async_pf_completion_queue,
} from './async_pf.ts';
import { kvm_async_pf_hash_reset } from './async_pf_hash.ts';
import { kvm_get_msr_pv, kvm_set_msr_pv } from './pv_msrs.ts';
import { type KvmVcpu, set_msr_en_val } from './vcpu.ts';
import { type KvmVm, lapic_in_kernel } from './vm.ts';

export const KVM_MSR_RET_UNSUPPORTED = 2;
export type MsrRet = 0 | 1 | typeof KVM_MSR_RET_UNSUPPORTED;

/** @kernel guest_pv_has: without KVM_CAP_ENFORCE_PV_FEATURE_CPUID every PV feature counts as present. */
export function guest_pv_has(vm: KvmVm, feature: number): boolean {
  if (!vm.config.enforce_pv_cpuid) return true;
  return ((vm.config.kvm_features >>> feature) & 1) === 1;
}

/** A failed CPUID gate: "unsupported" with the 5bb9ac186512 backport, plain failure before it. */
const gateFail = (vm: KvmVm): MsrRet => (vm.era.pvMsrUnsupported ? KVM_MSR_RET_UNSUPPORTED : 1);

/** The PV MSRs whose access is gated by a KVM_FEATURE_* bit (x86-apf §8 case 24). */
const PV_MSR_FEATURE: ReadonlyMap<number, number> = new Map([
  [MSR_KVM_WALL_CLOCK, 0],
  [MSR_KVM_SYSTEM_TIME, 0],
  [MSR_KVM_WALL_CLOCK_NEW, 3],
  [MSR_KVM_SYSTEM_TIME_NEW, 3],
  [MSR_KVM_ASYNC_PF_EN, KVM_FEATURE_ASYNC_PF],
  [MSR_KVM_STEAL_TIME, 5],
  [MSR_KVM_PV_EOI_EN, 6],
  [MSR_KVM_POLL_CONTROL, 12],
  [MSR_KVM_ASYNC_PF_INT, KVM_FEATURE_ASYNC_PF_INT],
  [MSR_KVM_ASYNC_PF_ACK, KVM_FEATURE_ASYNC_PF_INT],
]);

/** The async-PF MSRs (this module); the other PV MSRs' cases are in pv_msrs.ts. */
export const isApfMsr = (msr: number): boolean =>
  msr === MSR_KVM_ASYNC_PF_EN || msr === MSR_KVM_ASYNC_PF_INT || msr === MSR_KVM_ASYNC_PF_ACK;
/**
 * A KVM PV MSR of this era (MSR_KVM_ASYNC_PF_INT/_ACK only exist from 5.8, MSR_KVM_POLL_CONTROL from
 * 5.3); any other MSR in 0x4b564dxx is unknown to kvm_set_msr_common (#GP, KVM_SET_MSRS stops).
 */
export const isKvmPvMsr = (vm: KvmVm, msr: number): boolean =>
  PV_MSR_FEATURE.has(msr) &&
  (vm.era.hasIntAckMsrs || (msr !== MSR_KVM_ASYNC_PF_INT && msr !== MSR_KVM_ASYNC_PF_ACK)) &&
  (vm.era.hasPollControl || msr !== MSR_KVM_POLL_CONTROL);

/**
 * kvm_gfn_to_hva_cache_init(&vcpu->arch.apf.data, EN & ~0x3f, len) against the VM's current memslots.
 * It (re)initializes the live cache in place, in every era (2026 included: there is no temporary cache);
 * from 5.6 a failure keeps the old gpa/len (x86-apf §3.1, §6.1-17).
 */
function apf_init_cache(vm: KvmVm, vcpu: KvmVcpu, data: bigint): boolean {
  const gpa = data & ~0x3fn;
  return kvm_gfn_to_hva_cache_init(
    vm.mem,
    vcpu.apf.data,
    gpa <= 2n ** 52n ? Number(gpa) : Number.POSITIVE_INFINITY,
    vm.era.hvaCacheLen,
    vm.mmu.memslots_generation,
    vm.mmu.slot_invalid,
    vm.era.ghcKeepsRangeOnFailure,
  );
}

/**
 * @kernel kvm_pv_enable_async_pf (x86-apf §3.1). Before 2026, msr_en_val is committed before the shared
 * area is validated (quirk Q-EN-1); the 2026 order validates first.
 */
export function kvm_pv_enable_async_pf_model(vm: KvmVm, vcpu: KvmVcpu, data: bigint): 0 | 1 {
  if (!vm.era.enChecksFeaturesAndLapic) return kvm_pv_enable_async_pf_legacy(vm, vcpu, data);
  if (data & BigInt(vm.era.reservedMask)) return 1;
  if (data & BigInt(KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT) && !guest_pv_has(vm, KVM_FEATURE_ASYNC_PF_VMEXIT))
    return 1;
  if (data & BigInt(KVM_ASYNC_PF_DELIVERY_AS_INT) && !guest_pv_has(vm, KVM_FEATURE_ASYNC_PF_INT)) return 1;
  if (!lapic_in_kernel(vm)) return data !== 0n ? 1 : 0;

  const apf = vcpu.apf;
  const initCache = (): boolean => apf_init_cache(vm, vcpu, data);

  if (vm.era.validateEnBeforeCommit) {
    const mask = BigInt(vm.era.pvEnabledMask);
    const enabling = (data & mask) === mask;
    if (enabling && !initCache()) return 1;
    set_msr_en_val(apf, data);
    if (enabling) kvm_async_pf_wakeup_all(vm, vcpu);
    else {
      kvm_clear_async_pf_completion_queue(vcpu);
      kvm_async_pf_hash_reset(apf.gfns);
    }
    return 0;
  }

  set_msr_en_val(apf, data);
  if (!kvm_pv_async_pf_enabled(vm, vcpu)) {
    kvm_clear_async_pf_completion_queue(vcpu);
    kvm_async_pf_hash_reset(apf.gfns);
    return 0;
  }
  if (!initCache()) return 1;
  apf.send_always = (data & BigInt(KVM_ASYNC_PF_SEND_ALWAYS)) !== 0n;
  apf.delivery_as_pf_vmexit = (data & BigInt(KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT)) !== 0n;
  kvm_async_pf_wakeup_all(vm, vcpu);
  return 0;
}

/**
 * ≤5.7 (x86-apf §3.1, [X86-4.19], [X86-2.6.38]): reserved bits, commit, disable or map 4 bytes and send
 * a wakeup-all. No CPUID feature check and no LAPIC check.
 */
/** @model kvm_pv_enable_async_pf as ≤5.7 kernels wrote it (one function per era in the model). */
function kvm_pv_enable_async_pf_legacy(vm: KvmVm, vcpu: KvmVcpu, data: bigint): 0 | 1 {
  const apf = vcpu.apf;
  if (data & BigInt(vm.era.reservedMask)) return 1;
  set_msr_en_val(apf, data);
  if (!kvm_pv_async_pf_enabled(vm, vcpu)) {
    kvm_clear_async_pf_completion_queue(vcpu);
    kvm_async_pf_hash_reset(apf.gfns);
    return 0;
  }
  if (!apf_init_cache(vm, vcpu, data)) return 1;
  apf.send_always = (data & BigInt(KVM_ASYNC_PF_SEND_ALWAYS)) !== 0n; // send_user_only = !bit 1
  apf.delivery_as_pf_vmexit =
    vm.era.hasPfVmexit && (data & BigInt(KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT)) !== 0n;
  kvm_async_pf_wakeup_all(vm, vcpu);
  return 0;
}

/** @kernel kvm_pv_enable_async_pf_int (x86-apf §3.2): no vector validation, no side effects. */
export function kvm_pv_enable_async_pf_int(vm: KvmVm, vcpu: KvmVcpu, data: bigint): 0 | 1 {
  if (data >> 8n) return 1;
  if (!lapic_in_kernel(vm)) return 1;
  vcpu.apf.msr_int_val = data;
  vcpu.apf.vec = Number(data & 0xffn);
  return 0;
}

/** @kernel kvm_set_msr_common, its PV cases: the CPUID gate, then the APF cases here and the others in pv_msrs.ts. */
export function kvm_set_msr_common_apf(vm: KvmVm, vcpu: KvmVcpu, msr: number, data: bigint): MsrRet {
  const feature = PV_MSR_FEATURE.get(msr);
  if (feature !== undefined && !guest_pv_has(vm, feature)) return gateFail(vm);
  switch (msr) {
    case MSR_KVM_ASYNC_PF_EN:
      return kvm_pv_enable_async_pf(vm, vcpu, data);
    case MSR_KVM_ASYNC_PF_INT:
      return kvm_pv_enable_async_pf_int(vm, vcpu, data);
    case MSR_KVM_ASYNC_PF_ACK:
      if (data & 1n) {
        if (vm.era.presentQueuedBarrier) {
          // smp_store_mb: pairs with the barrier in kvm_arch_async_page_present_queued().
          vcpu.apf.pageready_pending = false;
        } else {
          // Without 68c35f89d016 the store may still be in the store buffer when the scan below loads
          // `done`; the worker can then read pageready_pending == true and skip its kick.
          vcpu.apf.pageready_pending_store_buffered = true;
        }
        kvm_check_async_pf_completion(vm, vcpu);
      }
      return 0;
    default:
      return kvm_set_msr_pv(vm, vcpu, msr, data) ?? 1;
  }
}

/** @kernel kvm_get_msr_common, its PV cases: the value, or a failure code. */
export function kvm_get_msr_common_apf(vm: KvmVm, vcpu: KvmVcpu, msr: number): MsrRet | { value: bigint } {
  const feature = PV_MSR_FEATURE.get(msr);
  if (feature !== undefined && !guest_pv_has(vm, feature)) return gateFail(vm);
  switch (msr) {
    case MSR_KVM_ASYNC_PF_EN:
      return { value: vcpu.apf.msr_en_val };
    case MSR_KVM_ASYNC_PF_INT:
      return { value: vcpu.apf.msr_int_val };
    case MSR_KVM_ASYNC_PF_ACK:
      return { value: 0n };
    default: {
      const v = kvm_get_msr_pv(vm, vcpu, msr);
      return v === null ? 1 : { value: v };
    }
  }
}

/**
 * @kernel kvm_do_msr_access, host-initiated (KVM_SET_MSRS): userspace may write 0 to any advertised MSR
 * even when it is "unsupported". Returns whether the ioctl processed the MSR.
 */
export function kvm_set_msr_host(vm: KvmVm, vcpu: KvmVcpu, msr: number, data: bigint): boolean {
  const r = kvm_set_msr_common_apf(vm, vcpu, msr, data);
  if (r === KVM_MSR_RET_UNSUPPORTED) return data === 0n;
  return r === 0;
}

/**
 * Host-initiated read (KVM_GET_MSRS): an "unsupported" MSR reads as 0.
 * @model the host-initiated half of kvm_get_msr_common for the PV MSRs (do_get_msr's path).
 */
export function kvm_get_msr_host(vm: KvmVm, vcpu: KvmVcpu, msr: number): bigint | null {
  const r = kvm_get_msr_common_apf(vm, vcpu, msr);
  if (typeof r === 'object') return r.value;
  return r === KVM_MSR_RET_UNSUPPORTED ? 0n : null;
}

// The hookable functions (kernel_fns.ts): each runs its model body above, or the variants' version.

/** kvm_pv_enable_async_pf, or a variant's version of it (kernel_fns.ts) when the era has a table. */
export function kvm_pv_enable_async_pf(vm: KvmVm, vcpu: KvmVcpu, data: bigint): 0 | 1 {
  const k = vm.era.kfn;
  return k === null ? kvm_pv_enable_async_pf_model(vm, vcpu, data) : k.kvm_pv_enable_async_pf(vm, vcpu, data);
}
