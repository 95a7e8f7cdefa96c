// The guest mapping API on an x86 VM (mmu.md Part C): which form each era has, the host-internal callers
// that map guest pages (each holds one struct kvm_host_map), the steal-time gfn_to_pfn_cache per vCPU, and
// the VM's host backing (src/mem/host_backing.ts). The API itself is generic KVM code
// (src/host/kvm_host_map.ts); this module holds the x86 callers' kernel call sites: what each maps, whether
// it writes through the mapping, and what its unmap passes as `dirty`.
//
// Opt-in: a VM has this only with VmConfig.host_maps (scripts' `vm.maps`, explore scenarios' `maps:`).
import {
  BACKING_DEVMEM,
  BACKING_NONREFCOUNTED,
  BACKING_RAM,
  type BackingKindName,
  HostBacking,
} from '../../mem/host_backing.ts';
import type { PageStates } from '../../mem/page_state.ts';
import type { GfnToPfnCacheGpc } from '../kvm_gpc.ts';
import {
  type GfnToPfnCache,
  type HostMapContext,
  type HostMapForm,
  type HostMapStats,
  type KvmHostMap,
  newGfnToPfnCache,
  newHostMap,
  newHostMapStats,
} from '../kvm_host_map.ts';
import { BUG_REFCOUNT_NONREFCOUNTED_PAGE, BUG_UNMAP_POISON_PAGE_CHECK, type BugSet } from './bugs.ts';
import type { EraName } from './era.ts';

/**
 * The form of the API in each era (null: before 5.2 it does not exist). '5.2' is the 5.2.3+ behaviour
 * (b614c6027896 fixed the unmap test in 5.2.3 and 5.3); the eras 5.7 … 5.15 have the 5.6 form with
 * kvm_map_gfn; 6.1 … 6.10 the 5.17 form (VM memslots); 6.13 and later the pinning rework.
 */
export function hostMapEra(era: EraName): HostMapForm | null {
  switch (era) {
    case '2010':
    case '2.6.38':
    case '3.6':
    case '3.x':
    case '4.14':
    case '4.15':
    case '4.19':
      return null;
    case '5.2':
      return '5.2';
    case '5.7':
    case '5.8':
    case '5.9':
    case '5.10':
    case '5.12':
    case '5.13':
    case '5.15':
      return '5.6';
    case '6.1':
    case '6.8':
    case '6.9':
    case '6.10':
      return '5.17';
    default:
      return '6.13';
  }
}

/**
 * The host-internal callers (kernel call sites) a scenario can name:
 * - `vmcs12`: nVMX handle_vmptrld maps the vmcs12 to copy it (read; unmapped clean);
 * - `apic_access`: nVMX vmcs12's APIC-access page (nested_get_vmcs12_pages, fe1911aa443e from 6.0; the
 *   page "should not" be written but may be; 7afe79f5734a (6.13) unmaps it dirty, before it was clean —
 *   the switch apic-access-page-unmapped-clean);
 * - `virtual_apic`, `pi_desc`: nVMX's virtual-APIC page and posted-interrupt descriptor (written; dirty);
 * - `evmcs`: Hyper-V's enlightened VMCS (written; dirty);
 * - `vmcb12`: nested SVM's VMRUN maps the vmcb12 (written back on VM-exit; dirty);
 * - `ghcb`: the SEV-ES GHCB (written; dirty);
 * - `steal_time`: 5.6 … 5.16 record_steal_time / kvm_steal_time_set_preempted through kvm_map_gfn with the
 *   vCPU's gfn_to_pfn_cache (written; dirty); the preempt-notifier path maps atomically.
 */
export const HOST_MAP_CALLERS = [
  'vmcs12',
  'apic_access',
  'virtual_apic',
  'pi_desc',
  'evmcs',
  'vmcb12',
  'ghcb',
  'steal_time',
] as const;
export type HostMapCaller = (typeof HOST_MAP_CALLERS)[number];
export const CALLER_APIC_ACCESS = HOST_MAP_CALLERS.indexOf('apic_access');
export const CALLER_STEAL_TIME = HOST_MAP_CALLERS.indexOf('steal_time');

/** Whether the caller writes through its mapping (and so maps writable ≥6.13 and unmaps dirty 5.x). */
export const callerWrites = (c: number): boolean => HOST_MAP_CALLERS[c] !== 'vmcs12';

/** The `dirty` argument of the caller's 5.x unmap, as the kernel call site passes it. */
export function callerUnmapDirty(c: number, bugs: BugSet, apicAccessClean: number): boolean {
  if (c === CALLER_APIC_ACCESS) return (bugs & apicAccessClean) === 0;
  return callerWrites(c);
}

export interface HostMapsConfig {
  /** kvm.allow_unsafe_mappings at module load (≥6.13; default off). */
  readonly allow_unsafe_mappings?: boolean;
  /** KVM_MEM_LOG_DIRTY_PAGES on guest RAM. */
  readonly dirty_logging?: boolean;
  /** CONFIG_HAS_IOMEM; false models s390 (mmu.md §E 41). */
  readonly has_iomem?: boolean;
  /** Backing kinds per page range (the rest is ordinary RAM). */
  readonly backing?: readonly {
    readonly gfn: number;
    readonly pages: number;
    readonly kind: BackingKindName;
  }[];
  /** Page ranges in read-only memslots. */
  readonly readonly?: readonly { readonly gfn: number; readonly pages: number }[];
  /** Page ranges that exist only in the SMM address space (SMRAM). */
  readonly smm_only?: readonly { readonly gfn: number; readonly pages: number }[];
  /** The guest-mapping switches among the scenario's bugs (bugs.ts). */
  readonly bugs?: BugSet;
}

const KINDS: Readonly<Record<BackingKindName, number>> = {
  ram: BACKING_RAM,
  devmem: BACKING_DEVMEM,
  nonrefcounted: BACKING_NONREFCOUNTED,
};

/** The guest-mapping state of one VM. */
export class HostMaps {
  readonly ctx: HostMapContext;
  /** One struct kvm_host_map per caller (HOST_MAP_CALLERS order). */
  readonly maps: KvmHostMap[];
  /** The VM's notifier-aware gfn_to_pfn_caches (kvm_gpc.ts; 5.17+), invalidated by the notifiers. */
  readonly gpcs: GfnToPfnCacheGpc[] = [];
  /** Per vCPU: the steal-time gfn_to_pfn_cache (5.6 form). */
  readonly caches: GfnToPfnCache[];
  readonly stats: HostMapStats;
  /** The scenario's switch set (the call sites read apic-access-page-unmapped-clean from it). */
  readonly bugs: BugSet;

  constructor(
    form: HostMapForm,
    npages: number,
    vcpus: number,
    c: HostMapsConfig,
    pages: PageStates | null = null,
  ) {
    const bugs = c.bugs ?? 0;
    this.bugs = bugs;
    const backing = new HostBacking(npages);
    backing.dirtyLogging = c.dirty_logging ?? false;
    for (const r of c.backing ?? []) backing.kind.fill(KINDS[r.kind], r.gfn, r.gfn + r.pages);
    for (const r of c.readonly ?? []) backing.readonly.fill(1, r.gfn, r.gfn + r.pages);
    for (const r of c.smm_only ?? []) backing.smmOnly.fill(1, r.gfn, r.gfn + r.pages);
    this.stats = newHostMapStats();
    this.ctx = {
      backing,
      form,
      allow_unsafe_mappings: c.allow_unsafe_mappings ?? false,
      has_iomem: c.has_iomem ?? true,
      unmapPoisonBug: (bugs & BUG_UNMAP_POISON_PAGE_CHECK) !== 0,
      refcountBug: (bugs & BUG_REFCOUNT_NONREFCOUNTED_PAGE) !== 0,
      pages,
      stats: this.stats,
    };
    this.maps = HOST_MAP_CALLERS.map(() => newHostMap());
    this.caches = Array.from({ length: vcpus }, () => newGfnToPfnCache());
  }

  get backing(): HostBacking {
    return this.ctx.backing;
  }
}
