// Loading a `kind: sim` scenario: YAML → zod → expansion of `count` → cross-field checks. Every failure
// is one line naming the file, the field and what is allowed (ScenarioError, exit 2).

import type { LinuxGuestKind } from '../guest/x86/linux/config.ts';
import type { BugName } from '../host/x86/bugs.ts';
import type { EraName } from '../host/x86/era.ts';
import { PAGE_SIZE } from '../mem/guest_memory.ts';
import { readScenarioFile, validateScenario } from '../scenario/load.ts';
import { ScenarioError } from '../scenario/scenario_error.ts';
import { resolveVariants } from '../variant/load.ts';
import type { CompactionSpec } from './compaction.ts';
import type { SimCosts } from './costs.ts';
import type { DistSpec } from './engine/dist.ts';
import type { ThpSpec } from './khugepaged.ts';
import type { KsmSpec } from './ksm.ts';
import type { NumaSpec } from './numa_balancing.ts';
import { type ApfMode, SimScenarioSchema, type WorkloadSpec } from './schema.ts';

/**
 * Guest RAM the guest kernel keeps for itself at the bottom of every VM: the per-CPU `apf_reason` areas
 * live there. It is resident and pinned (never reclaimed), and workloads never touch it.
 */
export const KERNEL_BYTES = 4 * 1024 * 1024;
export const KERNEL_PAGES = KERNEL_BYTES / PAGE_SIZE;

/** One VM after `count` expansion. */
export interface SimVmSpec {
  name: string;
  /** The `vms` entry it came from (index) and its name: the table groups by it. */
  group: number;
  groupName: string;
  memory: number;
  vcpus: number;
  apf: ApfMode;
  era: EraName;
  guest: LinuxGuestKind;
  /** Whether era / guest were written in the scenario (a compare run keeps them). */
  eraExplicit: boolean;
  guestExplicit: boolean;
  bugs: BugName[];
  /**
   * Variant modules (docs/variants.md): the scenario's then the VM's, as written until simWithVariants
   * loads them and names them relative to the working directory; absent when there are none.
   */
  variants?: string[];
  initialResidency: number;
  tick: number;
  /** Duplicate content for KSM (schema duplicate_pages, duplicate_kinds). */
  duplicatePages: number;
  duplicateKinds: number;
  workload: WorkloadSpec;
}

export interface SimScenario {
  file: string;
  name: string;
  seed: number;
  duration: number;
  /** The warm-up (ns); with autoWarmup, decided during the run (SimState.warmupAt) and 0 here. */
  warmup: number;
  /** `warmup: auto`: warm up until steady, then measure `duration` (control.ts). */
  autoWarmup: boolean;
  maxFaults: number | null;
  ramPages: number;
  swapChannels: number;
  swapLatency: DistSpec;
  /** host.mmu_notifiers: every VM is created with VmConfig.mmu_notifiers (docs/mmu.md). */
  mmuNotifiers: boolean;
  /** host.ksm: KSM's scanner (ksm.ts); null when the host does not run KSM. */
  ksm: KsmSpec | null;
  /** host.numa_balancing (numa_balancing.ts); null when off. */
  numa: NumaSpec | null;
  /** host.compaction (compaction.ts); null when off. */
  compaction: CompactionSpec | null;
  /** host.thp: khugepaged and huge mappings (khugepaged.ts); null when off. */
  thp: ThpSpec | null;
  /** host.mmu_caches (with mmu_notifiers): VmConfig.mmu_caches too, and the memory-cache metrics. */
  mmuCaches: boolean;
  costs: SimCosts;
  vms: SimVmSpec[];
}

/** The host era and guest kernel a protocol mode implies (docs/simulator.md, "Protocol modes"). */
export function modeDefaults(mode: ApfMode): { era: EraName; guest: LinuxGuestKind } {
  return mode === 'legacy' ? { era: '4.19', guest: 'linux-4.19' } : { era: '6.18', guest: 'linux-6.x' };
}

/** The same scenario with every VM in protocol mode `mode` (explicit eras and guest kinds are kept). */
export function withMode(s: SimScenario, mode: ApfMode): SimScenario {
  const d = modeDefaults(mode);
  return {
    ...s,
    vms: s.vms.map((v) => ({
      ...v,
      apf: mode,
      era: v.eraExplicit ? v.era : d.era,
      guest: v.guestExplicit ? v.guest : d.guest,
    })),
  };
}

/** Pages of a VM's working set. */
export function workingSetPages(v: SimVmSpec): number {
  const avail = v.memory / PAGE_SIZE - KERNEL_PAGES;
  return v.workload.working_set === undefined ? avail : Math.floor(v.workload.working_set / PAGE_SIZE);
}

/** Pages resident at start (kernel pages included). */
export function initialResidentPages(v: SimVmSpec): number {
  const avail = v.memory / PAGE_SIZE - KERNEL_PAGES;
  return KERNEL_PAGES + Math.floor(v.initialResidency * avail);
}

export function parseSimScenario(raw: unknown, file: string): SimScenario {
  const s = validateScenario(file, raw, SimScenarioSchema);
  const vms: SimVmSpec[] = [];
  const names = new Set<string>();
  s.vms.forEach((e, i) => {
    const at = (f: string) => `vms[${i}].${f}`;
    if (e.memory % PAGE_SIZE !== 0 || e.memory < 2 * KERNEL_BYTES)
      throw new ScenarioError(
        file,
        at('memory'),
        `expected a multiple of 4KiB, at least 8MiB, got ${e.memory}`,
      );
    const avail = e.memory - KERNEL_BYTES;
    if (e.workload.working_set !== undefined) {
      const ws = e.workload.working_set;
      if (ws < PAGE_SIZE || ws > avail || ws % PAGE_SIZE !== 0)
        throw new ScenarioError(
          file,
          at('workload.working_set'),
          `expected a multiple of 4KiB between 4KiB and memory minus the guest kernel's 4MiB (${avail}), got ${ws}`,
        );
    }
    const tasks = e.workload.tasks_per_vcpu * e.vcpus;
    if (tasks > 4096)
      throw new ScenarioError(
        file,
        at('workload.tasks_per_vcpu'),
        `expected at most 4096 tasks per VM, got ${tasks}`,
      );
    if (e.duplicate_pages > 0 && !s.host.ksm)
      throw new ScenarioError(
        file,
        at('duplicate_pages'),
        'duplicate content only matters to KSM: add host.ksm (or leave duplicate_pages at 0)',
      );
    const group = e.name ?? `vm${i}`;
    for (let k = 0; k < e.count; k++) {
      const name = e.count > 1 ? `${group}-${k}` : group;
      if (names.has(name))
        throw new ScenarioError(file, at('name'), `duplicate VM name ${JSON.stringify(name)}`);
      names.add(name);
      const d = modeDefaults(e.apf);
      vms.push({
        name,
        group: i,
        groupName: e.count > 1 ? `${group} ×${e.count}` : group,
        memory: e.memory,
        vcpus: e.vcpus,
        apf: e.apf,
        era: e.era ?? d.era,
        guest: e.guest ?? d.guest,
        eraExplicit: e.era !== undefined,
        guestExplicit: e.guest !== undefined,
        bugs: e.bugs,
        ...(s.variants.length + e.variants.length > 0 ? { variants: [...s.variants, ...e.variants] } : {}),
        initialResidency: e.initial_residency,
        tick: e.tick,
        duplicatePages: e.duplicate_pages,
        duplicateKinds: e.duplicate_kinds,
        workload: e.workload,
      });
    }
  });
  const ramPages = Math.floor(s.host.ram / PAGE_SIZE);
  const kernel = vms.length * KERNEL_PAGES;
  if (ramPages <= kernel)
    throw new ScenarioError(
      file,
      'host.ram',
      `expected more than the guest kernels' pinned ${(kernel * PAGE_SIZE) / 2 ** 20}MiB (4MiB per VM), got ${s.host.ram}`,
    );
  const initial = vms.reduce((a, v) => a + initialResidentPages(v), 0);
  if (initial > ramPages)
    throw new ScenarioError(
      file,
      'host.ram',
      `the VMs' initial residency needs ${initial} pages (${((initial * PAGE_SIZE) / 2 ** 30).toFixed(2)}GiB) but ram holds ${ramPages}; lower initial_residency or raise ram`,
    );
  if (s.host.numa_balancing && !s.host.mmu_notifiers)
    throw new ScenarioError(
      file,
      'host.numa_balancing',
      'NUMA balancing reaches KVM through the MMU notifiers: set host.mmu_notifiers: true',
    );
  if (s.host.ksm && !s.host.mmu_notifiers)
    throw new ScenarioError(
      file,
      'host.ksm',
      'KSM merges reach KVM through the MMU notifiers: set host.mmu_notifiers: true',
    );
  if (s.host.thp && !s.host.mmu_notifiers)
    throw new ScenarioError(
      file,
      'host.thp',
      'THP collapses and splits reach KVM through the MMU notifiers: set host.mmu_notifiers: true',
    );
  if (s.host.compaction && !s.host.mmu_notifiers)
    throw new ScenarioError(
      file,
      'host.compaction',
      'compaction migrates pages, which reaches KVM through the MMU notifiers: set host.mmu_notifiers: true',
    );
  if (s.warmup !== 'auto' && s.warmup >= s.duration)
    throw new ScenarioError(
      file,
      'warmup',
      `expected less than duration (${s.duration} ns), got ${s.warmup}`,
    );
  return {
    file,
    name: s.name ?? file.replace(/^.*\//, '').replace(/\.ya?ml$|\.json$/, ''),
    seed: s.seed,
    duration: s.duration,
    warmup: s.warmup === 'auto' ? 0 : s.warmup,
    autoWarmup: s.warmup === 'auto',
    maxFaults: s.max_faults ?? null,
    ramPages,
    swapChannels: s.host.swap.channels,
    swapLatency: s.host.swap.latency,
    mmuNotifiers: s.host.mmu_notifiers,
    ksm: s.host.ksm ? { pagesToScan: s.host.ksm.pages_to_scan, sleep: s.host.ksm.sleep_millisecs } : null,
    numa: s.host.numa_balancing
      ? {
          scanPages: Math.max(1, Math.floor(s.host.numa_balancing.scan_size / PAGE_SIZE)),
          period: s.host.numa_balancing.scan_period,
          nodes: s.host.numa_balancing.nodes,
          misplaced: s.host.numa_balancing.misplaced_pages,
        }
      : null,
    compaction: s.host.compaction
      ? { interval: s.host.compaction.interval, pagesPerWake: s.host.compaction.pages_per_wake }
      : null,
    thp: s.host.thp
      ? {
          pagesToScan: s.host.thp.khugepaged.pages_to_scan,
          sleep: s.host.thp.khugepaged.scan_sleep_millisecs,
          maxPtesSwap: s.host.thp.khugepaged.max_ptes_swap,
        }
      : null,
    mmuCaches: s.host.mmu_notifiers && s.host.mmu_caches === true,
    costs: s.costs,
    vms,
  };
}

export function loadSimScenario(file: string): SimScenario {
  return parseSimScenario(readScenarioFile(file), file);
}

/**
 * The scenario with its VMs' variant modules loaded (paths relative to `file`) and `extra` ones (relative
 * to the working directory, `--variant`) added to every VM (docs/variants.md).
 */
export async function simWithVariants(
  s: SimScenario,
  file: string | null,
  extra: readonly string[] = [],
): Promise<SimScenario> {
  if (extra.length === 0 && s.vms.every((v) => v.variants === undefined)) return s;
  const vms: SimVmSpec[] = [];
  for (const v of s.vms) {
    const variants = await resolveVariants(v.variants ?? [], file, extra);
    vms.push(variants.length > 0 ? { ...v, variants } : v);
  }
  return { ...s, vms };
}
