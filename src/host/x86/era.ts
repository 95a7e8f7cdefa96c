// Host kernel generations (x86-apf §0.1). An era name is a kernel version that bounds a behaviour
// change; `eraConfig` turns it into the switches the host model reads. Historical bugs that a release
// shipped with are not implied by its era: they are named switches (bugs.ts) a scenario turns on.

import { HOST_BUG_VARIANTS, type HostVariant } from './bug_variants.ts';
import { BUG_NAMES, type BugSet } from './bugs.ts';
import type { X86KernelFns } from './kernel_fns.ts';
import {
  faithfulMmu,
  MMU_2_6,
  MMU_3_7,
  MMU_5_12,
  MMU_5_13,
  MMU_5_15,
  MMU_5_16,
  MMU_6_8,
  MMU_6_10,
  MMU_6_13,
  type MmuBehaviour,
} from './mmu_era.ts';

export const ERA_NAMES = [
  '2010',
  '2.6.38',
  '3.6',
  '3.x',
  '4.14',
  '4.15',
  '4.19',
  '5.2',
  '5.7',
  '5.8',
  '5.9',
  '5.10',
  '5.12',
  '5.13',
  '5.15',
  '6.1',
  '6.8',
  '6.9',
  '6.10',
  '6.13',
  '6.15',
  '6.17',
  '6.18',
  '2026',
] as const;
export type EraName = (typeof ERA_NAMES)[number];

export interface EraConfig {
  readonly name: EraName;
  /** x86-apf §0.1 label; "E0" also covers the 2010 postings. */
  readonly era: 'E0' | 'E1' | 'E2' | 'E3' | 'E4' | 'E5';
  /** 'page ready' by #PF with reason 2 (≤5.7) or by interrupt (5.8+, 2635b5c4a0e4). */
  readonly pageReady: 'pf' | 'interrupt';
  /** MSR_KVM_ASYNC_PF_EN bits that must be zero (x86-apf §1.2): 0x3e, 0x3c, 0x38, 0x30. */
  readonly reservedMask: number;
  /** EN bits that must all be set for `kvm_pv_async_pf_enabled` (P-EN): bit 0 (≤5.7), bits 0 and 3. */
  readonly pvEnabledMask: number;
  /** Bytes of the shared area mapped by the hva cache: 4 (`reason`, ≤5.7), 8 (flags + token). */
  readonly hvaCacheLen: number;
  /** The EN write checks CPUID features and the in-kernel LAPIC (5.8+). */
  readonly enChecksFeaturesAndLapic: boolean;
  /** MSR_KVM_ASYNC_PF_INT and _ACK exist (5.8+). */
  readonly hasIntAckMsrs: boolean;
  /** KVM_CAP_ENFORCE_PV_FEATURE_CPUID exists (Oliver Upton, 2020; 5.10). */
  readonly hasEnforcePvFeatureCpuid: boolean;
  /**
   * 5bb9ac186512 "Return 'unsupported' instead of 'invalid' on access to unsupported PV MSR" (Dec 2025,
   * stable): a host-initiated access that fails the CPUID gate reads 0 / may write 0 (kvm-oracle §3.2).
   * The reference host's 6.18.44 carries the backport; a scenario can override it (`vm.pv_msr_unsupported`).
   */
  readonly pvMsrUnsupported: boolean;
  /** kvm_can_do_async_pf refuses while an exception is pending (2a266f23550b; release unverified). */
  readonly canDoChecksPendingException: boolean;
  /** kvm_can_do_async_pf's hlt_in_guest clause (1dfdb45ec510). */
  readonly hltInGuestRule: boolean;
  /** kvm_can_deliver_async_pf requires CR0.PG (Paolo Bonzini, 2022). */
  readonly deliverNeedsPaging: boolean;
  /** DELIVERY_AS_PF_VMEXIT (bit 2) exists: 52a5c155cf79, 4.15. */
  readonly hasPfVmexit: boolean;
  /** 4.15–5.7: 9a6e7c39810e cancels both events when a 'not present' is still pending (§5.2). */
  readonly dfFix: boolean;
  /** ≤5.7: completion processing runs on every run-loop iteration instead of on KVM_REQ_APF_READY. */
  readonly completionPolled: boolean;
  /** 6.15: SEV-ES/SNP/TDX guests need SEND_ALWAYS for 'not present' (x86-apf §3.14). */
  readonly protectedGuestRule: boolean;
  /** ≤6.17: toggling CR0.PG clears the completion queue (e5f3f0279601); fixed by ab4e41eb9fab. */
  readonly cr0PgClearsQueue: boolean;
  /** 2026: the hva cache is validated before msr_en_val is committed (fixes quirk Q-EN-1). */
  readonly validateEnBeforeCommit: boolean;
  /**
   * A failed hva-cache init keeps the cache's gpa/len (6ad1e29fe0ab, 5.6; read in the 5.2.1 and 5.6.4
   * trees): a memslot update then re-initializes it from the last good range. Before, gpa/len were
   * written first (src/mem/hva_cache.ts).
   */
  readonly ghcKeepsRangeOnFailure: boolean;
  /** 6f3c1fc53d86 (2022, stable): alloc_apf_token never returns 0. */
  readonly tokenNonZero: boolean;
  /** 2a18b7e7cd88 (5.8): page-ready only for an injected 'not present' or a wakeup-all. */
  readonly notpresentInjectedFilter: boolean;
  /**
   * 2f15d027c05f "KVM: x86: Properly handle APF vs disabled LAPIC situation" (posted 2021-04-22, merged
   * for 5.13): no dequeue while the LAPIC is disabled; LAPIC enable rescans. 5.8–5.12 as released lack
   * it (x86-apf §6.1); stable kernels that carry the backport (5.12.y from May 2021, 5.10.119 of
   * 2022-05-30 on) are the era with `vm.lapic_dequeue_gate: true`.
   */
  readonly lapicDequeueGate: boolean;
  /** 68c35f89d016 (2025): full barriers on both sides of the kick-vs-ACK handshake. */
  readonly presentQueuedBarrier: boolean;
  /**
   * MSR_KVM_POLL_CONTROL exists (KVM_FEATURE_POLL_CONTROL, 5.3; absent from the 5.2.1 tree, present in
   * 5.6.4): only bit 0 is defined and kvm_arch_vcpu_postcreate sets it to 1 (pv_msrs.ts).
   */
  readonly hasPollControl: boolean;
  /**
   * ≤5.4 the MSR_KVM_STEAL_TIME write itself initializes an hva cache for the 64-byte kvm_steal_time at
   * `data & ~0x3f`, enabled or not, and fails when it cannot (read in the 4.0.5 … 5.2.1 trees); from 5.5
   * the area is only mapped when steal time is recorded (5.6.4 … 6.18 trees).
   */
  readonly stealTimeMapsAtWrite: boolean;
  /**
   * kvm_lapic_set_pv_eoi validates the area (4-byte alignment, then the hva cache when enabled) before
   * it stores msr_val (read in the 5.17, 6.1 and 6.18 trees); ≤5.15 kvm_lapic_enable_pv_eoi stored
   * msr_val first, so a failed enable still reads back (4.0.5 … 5.15.85 trees).
   */
  readonly pvEoiValidatesFirst: boolean;
  /** KVM's MMU-notifier side in this kernel (mmu_era.ts; docs/mmu.md has the table). */
  readonly mmu: MmuBehaviour;
  /**
   * The kernel functions as variants changed them (kernel_fns.ts, src/variant/compose.ts), or null: the
   * model's own (every built-in era, and every variant that only changes the switches above).
   */
  readonly kfn: X86KernelFns | null;
}

const modern = {
  pageReady: 'interrupt',
  reservedMask: 0x30,
  pvEnabledMask: 0x9, // KVM_ASYNC_PF_ENABLED | KVM_ASYNC_PF_DELIVERY_AS_INT
  hvaCacheLen: 8,
  enChecksFeaturesAndLapic: true,
  hasIntAckMsrs: true,
  hasEnforcePvFeatureCpuid: true,
  pvMsrUnsupported: false,
  canDoChecksPendingException: true,
  hltInGuestRule: true,
  deliverNeedsPaging: true,
  hasPfVmexit: true,
  dfFix: false,
  completionPolled: false,
  protectedGuestRule: false,
  cr0PgClearsQueue: true,
  validateEnBeforeCommit: false,
  ghcKeepsRangeOnFailure: true,
  tokenNonZero: true,
  notpresentInjectedFilter: true,
  lapicDequeueGate: true,
  presentQueuedBarrier: true,
  hasPollControl: true,
  stealTimeMapsAtWrite: false,
  pvEoiValidatesFirst: true,
  kfn: null,
} as const;

const legacy = {
  ...modern,
  pageReady: 'pf',
  reservedMask: 0x38,
  pvEnabledMask: 0x1,
  hvaCacheLen: 4,
  ghcKeepsRangeOnFailure: false,
  enChecksFeaturesAndLapic: false,
  hasIntAckMsrs: false,
  hasEnforcePvFeatureCpuid: false,
  hltInGuestRule: false,
  deliverNeedsPaging: false,
  completionPolled: true,
  notpresentInjectedFilter: false,
  lapicDequeueGate: false,
  hasPollControl: false,
  stealTimeMapsAtWrite: true,
  pvEoiValidatesFirst: false,
} as const;

const e01 = {
  ...legacy,
  reservedMask: 0x3c,
  hasPfVmexit: false,
  canDoChecksPendingException: false,
} as const;
const e2 = { ...legacy, dfFix: true } as const;
const e5 = { ...modern, protectedGuestRule: true, cr0PgClearsQueue: false, pvMsrUnsupported: true } as const;

// The eras named for an MMU change alone ('3.6', '5.2', '5.9', '5.12', '5.13', '5.15', '6.1', '6.10',
// '6.13') have the async-PF behaviour of the APF era before them (docs/scenarios.md, docs/mmu.md): 5.2
// brought kvm_vcpu_map, 5.9 the common MMU memory caches.
const e3 = { ...modern, era: 'E3', deliverNeedsPaging: false, pvEoiValidatesFirst: false } as const;
const ERAS: Record<EraName, EraConfig> = {
  '2010': { ...e01, name: '2010', era: 'E0', reservedMask: 0x3e, mmu: faithfulMmu(MMU_2_6) },
  '2.6.38': { ...e01, name: '2.6.38', era: 'E0', mmu: faithfulMmu(MMU_2_6) },
  '3.6': { ...e01, name: '3.6', era: 'E1', mmu: faithfulMmu(MMU_2_6) },
  '3.x': { ...e01, name: '3.x', era: 'E1', mmu: faithfulMmu(MMU_3_7) },
  '4.14': { ...e01, name: '4.14', era: 'E1', canDoChecksPendingException: true, mmu: faithfulMmu(MMU_3_7) },
  '4.15': { ...e2, name: '4.15', era: 'E2', mmu: faithfulMmu(MMU_3_7) },
  '4.19': { ...e2, name: '4.19', era: 'E2', mmu: faithfulMmu(MMU_3_7) },
  '5.2': { ...e2, name: '5.2', era: 'E2', mmu: faithfulMmu(MMU_3_7) },
  '5.7': {
    ...e2,
    name: '5.7',
    era: 'E2',
    hltInGuestRule: true,
    ghcKeepsRangeOnFailure: true,
    hasPollControl: true,
    stealTimeMapsAtWrite: false,
    mmu: faithfulMmu(MMU_3_7),
  },
  '5.8': {
    ...e3,
    name: '5.8',
    hasEnforcePvFeatureCpuid: false,
    lapicDequeueGate: false,
    mmu: faithfulMmu(MMU_3_7),
  },
  '5.9': {
    ...e3,
    name: '5.9',
    hasEnforcePvFeatureCpuid: false,
    lapicDequeueGate: false,
    mmu: faithfulMmu(MMU_3_7),
  },
  '5.10': { ...e3, name: '5.10', lapicDequeueGate: false, mmu: faithfulMmu(MMU_3_7) },
  '5.12': { ...e3, name: '5.12', lapicDequeueGate: false, mmu: faithfulMmu(MMU_5_12) },
  '5.13': { ...e3, name: '5.13', mmu: faithfulMmu(MMU_5_13) },
  '5.15': { ...e3, name: '5.15', mmu: faithfulMmu(MMU_5_15) },
  '6.1': { ...modern, name: '6.1', era: 'E3', mmu: faithfulMmu(MMU_5_16) },
  '6.8': { ...modern, name: '6.8', era: 'E3', mmu: faithfulMmu(MMU_6_8) },
  '6.9': { ...modern, name: '6.9', era: 'E4', mmu: faithfulMmu(MMU_6_8) },
  '6.10': { ...modern, name: '6.10', era: 'E4', mmu: faithfulMmu(MMU_6_10) },
  '6.13': { ...modern, name: '6.13', era: 'E4', mmu: faithfulMmu(MMU_6_13) },
  '6.15': { ...modern, name: '6.15', era: 'E4', protectedGuestRule: true, mmu: faithfulMmu(MMU_6_13) },
  '6.17': { ...modern, name: '6.17', era: 'E4', protectedGuestRule: true, mmu: faithfulMmu(MMU_6_13) },
  '6.18': { ...e5, name: '6.18', era: 'E5', mmu: faithfulMmu(MMU_6_13) },
  '2026': { ...e5, name: '2026', era: 'E5', validateEnBeforeCommit: true, mmu: faithfulMmu(MMU_6_13) },
};

export function eraConfig(name: EraName): EraConfig {
  return ERAS[name];
}

/** Stable backports a scenario may say its kernel carries (or lacks), overriding the era's default. */
export interface Backports {
  /** 2f15d027c05f (`vm.lapic_dequeue_gate`): 5.12.y from May 2021, 5.10.y from 5.10.119. */
  lapicDequeueGate?: boolean | undefined;
}

/**
 * The host behaviour of an era: the 5bb9ac186512 backport set explicitly when `pvMsrUnsupported` is given,
 * other stable backports (`backports`), the historical bugs switched back on (bugs.ts, each written as a
 * variant in bug_variants.ts, applied in BUG_NAMES order), then the user's `variants` in order, and the
 * variants' kernel functions (`kfn`, composed by src/variant/compose.ts).
 */
export function hostBehaviour(
  name: EraName,
  bugs: BugSet = 0,
  pvMsrUnsupported?: boolean,
  backports: Backports = {},
  variants: readonly HostVariant[] = [],
  kfn: X86KernelFns | null = null,
): EraConfig {
  const base = ERAS[name];
  let e: EraConfig = {
    ...base,
    pvMsrUnsupported: pvMsrUnsupported ?? base.pvMsrUnsupported,
    lapicDequeueGate: backports.lapicDequeueGate ?? base.lapicDequeueGate,
  };
  for (let i = 0; i < BUG_NAMES.length; i++) {
    const v = HOST_BUG_VARIANTS[BUG_NAMES[i]!];
    if (v?.host !== undefined && (bugs & (1 << i)) !== 0) e = v.host(e);
  }
  for (const v of variants) if (v.host !== undefined) e = v.host(e);
  return kfn === null ? e : { ...e, kfn };
}
