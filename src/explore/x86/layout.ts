// Everything about an explore world that is fixed by its configuration: the program pages, the bounds of
// the host encoding, the guest-memory words to track, where each part sits in the encoding, and the
// table of step ids. Computed once per model and shared by all its worlds.

import { MSR_KVM_ASYNC_PF_EN } from '../../abi/kvm_para.ts';
import { bugSet, hasBug } from '../../host/x86/bugs.ts';
import type { HostCodecBounds } from '../../host/x86/codec.ts';
import { type EraConfig, hostBehaviour } from '../../host/x86/era.ts';
import { CALLER_STEAL_TIME, callerWrites, HOST_MAP_CALLERS } from '../../host/x86/host_maps.ts';
import { HOST_MM_OPS, MAX_MM_OPS } from '../../host/x86/primary_mmu.ts';
import { gpaToGfn } from '../../mem/guest_memory.ts';
import { type VariantSet, variantSet } from '../../variant/variant_set.ts';
import { type EnvKind, type ExploreWorldConfig, LINUX_APF_REASON_BASE } from './config.ts';
import { extraMapPages } from './map_actor.ts';

export type StepKind =
  | 'run'
  | 'work'
  | 'sync'
  | 'drain'
  | 'en_rewrite'
  | 'svr_toggle'
  | 'smi'
  | 'init'
  | 'init_deliver'
  | 'evict'
  | 'fault_lock'
  | 'mm_begin'
  | 'mm_step'
  | 'alloc_fail'
  | 'map_map'
  | 'map_write'
  | 'map_unmap';

export interface StepDesc {
  readonly kind: StepKind;
  /**
   * The vCPU (for `evict`, the index of the program page; for `mm_begin`, of the page in `mmPages`; for
   * `mm_step`, the thread; for the map steps, the caller's index in cfg.maps.callers).
   */
  readonly v: number;
  /**
   * For `work`: the rank of the pending work in token order; for `mm_begin`, the operation (MM_*); for
   * `map_map`, 1 for steal time's atomic kvm_map_gfn.
   */
  readonly k: number;
}

/** Per-vCPU environment kinds, in step-table order (evict is per page). */
const VCPU_ENV: readonly EnvKind[] = ['en_rewrite', 'svr_toggle', 'smi', 'init'];

export interface WorldLayout {
  readonly cfg: ExploreWorldConfig;
  readonly era: EraConfig;
  readonly bugs: number;
  /** The scenario's variants, composed (src/variant/variant_set.ts). */
  readonly variants: VariantSet;
  readonly vcpus: number;
  /** Program pages (gfns), sorted: they start non-resident. */
  readonly pages: readonly number[];
  /** The pages host memory operations act on: the program pages, then mapped pages that are not. */
  readonly mmPages: readonly number[];
  readonly bounds: HostCodecBounds;
  /** APF-area u32 words the host may write, besides those the guest adapter encodes. */
  readonly candidateAreas: readonly number[];
  readonly steps: readonly StepDesc[];
  /** Step id of `run` for vCPU v is v; other kinds are looked up here. */
  readonly stepIndex: ReadonlyMap<string, number>;
}

export const stepKey = (kind: StepKind, v: number, k = 0): string => `${kind}:${v}:${k}`;

function programPages(cfg: ExploreWorldConfig): number[] {
  const gpas: number[] = [];
  if (cfg.guest.kind === 'linux') {
    for (const t of cfg.guest.tasks) for (const a of t.program) if (a.kind === 'touch') gpas.push(a.gpa);
  } else {
    for (const p of cfg.guest.programs) for (const op of p) if (op.op === 'touch') gpas.push(Number(op.gpa));
  }
  return [...new Set(gpas.map(gpaToGfn))].sort((a, b) => a - b);
}

/** The shared APF areas the host's hva cache can point at: every EN value the guest or VMM may write. */
function candidateAreas(cfg: ExploreWorldConfig): number[] {
  const areas = new Set<number>();
  if (cfg.guest.kind === 'linux') {
    for (let c = 0; c < cfg.vm.vcpus; c++) areas.add(LINUX_APF_REASON_BASE + c * 128);
  } else {
    for (const p of cfg.guest.programs)
      for (const op of p)
        if (op.op === 'wrmsr' && op.msr === MSR_KVM_ASYNC_PF_EN && op.value !== 0n) {
          const a = Number(op.value & ~0x3fn);
          if (a + 8 <= cfg.vm.memory) areas.add(a);
        }
  }
  return [...areas].sort((a, b) => a - b);
}

export function buildLayout(cfg: ExploreWorldConfig): WorldLayout {
  const bugs = bugSet(cfg.bugs);
  const variants = variantSet(cfg.variants);
  const era = hostBehaviour(
    cfg.era,
    bugs,
    cfg.vm.pv_msr_unsupported,
    { lapicDequeueGate: cfg.vm.lapic_dequeue_gate },
    variants.host,
    variants.kfn,
  );
  const pages = programPages(cfg);
  const maxWorks = pages.length + 1;
  const steps: StepDesc[] = [];
  const V = cfg.vm.vcpus;
  for (let v = 0; v < V; v++) steps.push({ kind: 'run', v, k: 0 });
  for (let v = 0; v < V; v++)
    for (let k = 0; k < Math.max(1, pages.length); k++) steps.push({ kind: 'work', v, k });
  for (let v = 0; v < V; v++) steps.push({ kind: 'sync', v, k: 0 });
  if (hasBug(bugs, 'present-queued-barrier'))
    for (let v = 0; v < V; v++) steps.push({ kind: 'drain', v, k: 0 });
  for (const kind of VCPU_ENV) {
    if (cfg.env[kind] <= 0) continue;
    for (let v = 0; v < V; v++) steps.push({ kind, v, k: 0 });
    if (kind === 'init' && cfg.guest.kind === 'linux')
      for (let v = 0; v < V; v++) steps.push({ kind: 'init_deliver', v, k: 0 });
  }
  if (cfg.env.evict > 0) for (let p = 0; p < pages.length; p++) steps.push({ kind: 'evict', v: p, k: 0 });
  const mmPages = cfg.maps !== undefined ? [...pages, ...extraMapPages(cfg.maps, pages)] : pages;
  const mmu = cfg.mmu;
  if (mmu !== undefined) {
    if (mmu.split_fault) for (let v = 0; v < V; v++) steps.push({ kind: 'fault_lock', v, k: 0 });
    if (mmu.budget > 0)
      for (const name of mmu.ops) {
        const op = HOST_MM_OPS.indexOf(name);
        for (let p = 0; p < mmPages.length; p++) steps.push({ kind: 'mm_begin', v: p, k: op });
      }
    const threads = Math.min(MAX_MM_OPS, mmu.budget + cfg.env.evict);
    for (let t = 0; t < threads; t++) steps.push({ kind: 'mm_step', v: t, k: 0 });
    if (mmu.caches && mmu.alloc_fail !== undefined && mmu.alloc_fail.budget > 0)
      steps.push({ kind: 'alloc_fail', v: 0, k: 0 });
  }
  if (cfg.maps !== undefined)
    cfg.maps.callers.forEach((c, i) => {
      const k = HOST_MAP_CALLERS.indexOf(c.caller);
      steps.push({ kind: 'map_map', v: i, k: 0 });
      if (k === CALLER_STEAL_TIME) steps.push({ kind: 'map_map', v: i, k: 1 });
      if (callerWrites(k)) steps.push({ kind: 'map_write', v: i, k: 0 });
      steps.push({ kind: 'map_unmap', v: i, k: 0 });
    });
  const stepIndex = new Map(steps.map((s, i) => [stepKey(s.kind, s.v, s.k), i]));
  return {
    cfg,
    era,
    bugs,
    variants,
    vcpus: V,
    pages,
    mmPages,
    bounds: { maxWorks, maxGfns: Math.max(1, pages.length), mmu: cfg.mmu !== undefined },
    candidateAreas: candidateAreas(cfg),
    steps,
    stepIndex,
  };
}
