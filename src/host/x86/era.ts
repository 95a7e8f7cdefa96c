// Host kernel generations (x86-apf §0.1). Each era name is a kernel version that bounds a behaviour
// change; `eraConfig` turns it into the switches the host model reads. Older eras (E0–E2, the #PF-based
// 'page ready') are not modelled yet.

export const ERA_NAMES = ['5.8', '5.10', '6.8', '6.9', '6.15', '6.17', '6.18', '2026'] as const;
export type EraName = (typeof ERA_NAMES)[number];

export interface EraConfig {
  readonly name: EraName;
  /** x86-apf §0.1 label. */
  readonly era: 'E3' | 'E4' | 'E5';
  /** MSR_KVM_ASYNC_PF_EN bits that must be zero (x86-apf §1.2). */
  readonly reservedMask: number;
  /** EN bits that must all be set for `kvm_pv_async_pf_enabled` (P-EN). */
  readonly pvEnabledMask: number;
  /** Bytes of the shared area mapped by the hva cache: 8 in E3+ (flags + token). */
  readonly hvaCacheLen: number;
  /** KVM_CAP_ENFORCE_PV_FEATURE_CPUID exists (Oliver Upton, 2020; 5.10). */
  readonly hasEnforcePvFeatureCpuid: boolean;
  /**
   * 5bb9ac186512 "Return 'unsupported' instead of 'invalid' on access to unsupported PV MSR" (Dec 2025,
   * stable): a host-initiated access that fails the CPUID gate reads 0 / may write 0
   * (kvm-oracle §3.2). The reference host's 6.18.44 carries the backport.
   */
  readonly pvMsrUnsupported: boolean;
  /** 6.15: SEV-ES/SNP/TDX guests need SEND_ALWAYS for 'not present' (x86-apf §3.14). */
  readonly protectedGuestRule: boolean;
  /** ≤6.17: toggling CR0.PG clears the completion queue (e5f3f0279601); fixed by ab4e41eb9fab. */
  readonly cr0PgClearsQueue: boolean;
  /** 2026: the hva cache is validated before msr_en_val is committed (fixes quirk Q-EN-1). */
  readonly validateEnBeforeCommit: boolean;
}

const base = {
  reservedMask: 0x30,
  pvEnabledMask: 0x9, // KVM_ASYNC_PF_ENABLED | KVM_ASYNC_PF_DELIVERY_AS_INT
  hvaCacheLen: 8,
  hasEnforcePvFeatureCpuid: true,
  pvMsrUnsupported: false,
  protectedGuestRule: false,
  cr0PgClearsQueue: true,
  validateEnBeforeCommit: false,
} as const;

const ERAS: Record<EraName, EraConfig> = {
  '5.8': { ...base, name: '5.8', era: 'E3', hasEnforcePvFeatureCpuid: false },
  '5.10': { ...base, name: '5.10', era: 'E3' },
  '6.8': { ...base, name: '6.8', era: 'E3' },
  '6.9': { ...base, name: '6.9', era: 'E4' },
  '6.15': { ...base, name: '6.15', era: 'E4', protectedGuestRule: true },
  '6.17': { ...base, name: '6.17', era: 'E4', protectedGuestRule: true },
  '6.18': {
    ...base,
    name: '6.18',
    era: 'E5',
    protectedGuestRule: true,
    cr0PgClearsQueue: false,
    pvMsrUnsupported: true,
  },
  '2026': {
    ...base,
    name: '2026',
    era: 'E5',
    protectedGuestRule: true,
    cr0PgClearsQueue: false,
    pvMsrUnsupported: true,
    validateEnBeforeCommit: true,
  },
};

export function eraConfig(name: EraName): EraConfig {
  return ERAS[name];
}
