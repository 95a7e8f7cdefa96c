// Protocol comparison: the same scenario under several APF modes, each with the same n seeds (so a mode
// sees the same workload draws as the others), summarized per metric as mean ± the 95% confidence
// interval of the mean across seeds (Student's t, n − 1 degrees of freedom) and the ratio of the mean to
// the first mode's.

import type { BugName } from '../host/x86/bugs.ts';
import type { EraName } from '../host/x86/era.ts';
import { BudgetError } from '../scenario/usage_error.ts';
import { variantSet } from '../variant/variant_set.ts';
import { type OrderNote, orderNotes } from './compare_order.ts';
import { type SimScenario, withMode } from './load_sim.ts';
import type { RunMetrics } from './metrics.ts';
import { alignTable } from './report.ts';
import { runSimulation } from './run.ts';
import type { ApfMode } from './schema.ts';
import type { SimOptions } from './sim_state.ts';

export interface CompareMetric {
  key: string;
  label: string;
  get: (m: RunMetrics) => number;
  /** Decimals in the table. NaN from `get` means "not applicable" (e.g. no page-ready in `sync`). */
  digits: number;
}

export const COMPARE_METRICS: readonly CompareMetric[] = [
  {
    key: 'task_cpu_rate',
    label: 'guest work (task CPU s/s)',
    get: (m) => m.total.work.task_cpu_rate,
    digits: 3,
  },
  { key: 'bursts_per_s', label: 'completed bursts/s', get: (m) => m.total.work.bursts_per_s, digits: 0 },
  { key: 'task', label: 'vCPU time: task %', get: (m) => m.total.vcpu_time.task * 100, digits: 1 },
  {
    key: 'apf_exits',
    label: '  APF handling + exits %',
    get: (m) => m.total.vcpu_time.apf_exits * 100,
    digits: 2,
  },
  { key: 'idle', label: '  idle (HLT) %', get: (m) => m.total.vcpu_time.idle * 100, digits: 1 },
  {
    key: 'apf_halted',
    label: '  artificially halted %',
    get: (m) => m.total.vcpu_time.apf_halted * 100,
    digits: 1,
  },
  {
    key: 'sync_blocked',
    label: '  blocked in sync fault %',
    get: (m) => m.total.vcpu_time.sync_blocked * 100,
    digits: 1,
  },
  { key: 'page_ins_per_s', label: 'page-ins/s', get: (m) => m.total.faults.per_s, digits: 0 },
  {
    key: 'page_ready_p50',
    label: 'page-ready latency p50 µs',
    get: (m) => m.total.page_ready.p50_us ?? Number.NaN,
    digits: 1,
  },
  {
    key: 'page_ready_p99',
    label: 'page-ready latency p99 µs',
    get: (m) => m.total.page_ready.p99_us ?? Number.NaN,
    digits: 1,
  },
  {
    key: 'exits_per_s',
    label: 'VM exits/s',
    get: (m) => (m.measured_s > 0 ? m.total.events.exits / m.measured_s : 0),
    digits: 0,
  },
  {
    key: 'swap_utilization',
    label: 'swap utilization %',
    get: (m) => m.host.swap.utilization * 100,
    digits: 1,
  },
];

/**
 * The MMU rows, for scenarios with host.mmu_notifiers: what host memory management costs the guests in
 * faults, zaps and retries, and what KSM saved.
 */
export const MMU_COMPARE_METRICS: readonly CompareMetric[] = [
  {
    key: 'guest_faults_per_s',
    label: 'guest faults (EPT violations)/s',
    get: (m) => (m.measured_s > 0 && m.total.mmu ? m.total.mmu.guest_faults / m.measured_s : Number.NaN),
    digits: 0,
  },
  {
    key: 'sptes_zapped_per_s',
    label: 'SPTEs zapped/s',
    get: (m) => (m.measured_s > 0 && m.total.mmu ? m.total.mmu.sptes_zapped / m.measured_s : Number.NaN),
    digits: 0,
  },
  {
    key: 'fault_retries_per_s',
    label: 'fault retries/s',
    get: (m) => {
      const r = m.total.mmu?.retries;
      return m.measured_s > 0 && r ? (r.range + r.seq + r.unsafe) / m.measured_s : Number.NaN;
    },
    digits: 0,
  },
  {
    key: 'mmu_lock_wait_ms_per_s',
    label: 'vCPU mmu_lock wait ms/s',
    get: (m) => (m.measured_s > 0 && m.total.mmu ? m.total.mmu.mmu_lock.wait_ms / m.measured_s : Number.NaN),
    digits: 2,
  },
  {
    key: 'ksm_saved_mib',
    label: 'KSM saved MiB (end)',
    get: (m) => m.host.ksm?.saved_mib ?? Number.NaN,
    digits: 0,
  },
];

/** Two-sided 95% Student t quantiles for 1..30 degrees of freedom; beyond, the normal 1.96. */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export interface Summary {
  mean: number;
  /** Half-width of the 95% confidence interval of the mean (0 with one seed). */
  ci95: number;
  /** mean / the first mode's mean (null when that is 0 or not applicable). */
  ratio: number | null;
  values: number[];
}

export function summarize(values: readonly number[]): { mean: number; ci95: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, ci95: 0 };
  const v = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  const t = T95[n - 2] ?? 1.96;
  return { mean, ci95: t * Math.sqrt(v / n) };
}

/**
 * One column of a comparison: the scenario with an APF mode (withMode), a host era for every VM, and/or
 * bug or what-if switches added to every VM's own (null: the scenario's as written).
 */
export interface Variant {
  mode: ApfMode | null;
  era: EraName | null;
  bugs: readonly BugName[] | null;
  /**
   * Variant modules (docs/variants.md) added to every VM's, named relative to the working directory and
   * already loaded; [] is the scenario as written ("base"); null: not varied.
   */
  variants?: readonly string[] | null;
  /** The column head: the parts that are set ("interrupt", "5.15 use-change-pte"; "faithful" for no switch). */
  label: string;
}

/** A column's results: `mode` alone for a protocol comparison (its JSON shape since the first release). */
export interface VariantResult {
  mode?: ApfMode;
  variant?: string;
  era?: EraName;
  bugs?: BugName[];
  /** The variant modules' names (docs/variants.md), when the comparison varies them. */
  variants?: string[];
  metrics: Record<string, Summary>;
}

export interface Comparison {
  scenario: string;
  seeds: number[];
  modes: VariantResult[];
  /** The smallest tasks-per-vCPU of the scenario's VMs (the expected order assumes more than one). */
  tasksPerVcpu: number;
  /** Where guest work departs from interrupt ≥ legacy ≥ off ≥ sync, and why (compare_order.ts). */
  notes: CompareNote[];
}

/** The scenario as variant `v` runs it. */
export function applyVariant(scenario: SimScenario, v: Variant): SimScenario {
  const s = v.mode === null ? scenario : withMode(scenario, v.mode);
  const extra = v.variants ?? [];
  if (v.era === null && v.bugs === null && extra.length === 0) return s;
  return {
    ...s,
    vms: s.vms.map((vm) => ({
      ...vm,
      ...(v.era === null ? {} : { era: v.era, eraExplicit: true }),
      ...(v.bugs === null ? {} : { bugs: [...new Set([...vm.bugs, ...v.bugs])] }),
      ...(extra.length === 0 ? {} : { variants: [...(vm.variants ?? []), ...extra] }),
    })),
  };
}

/** The variants of a comparison: every APF mode × era × switch set given (null lists: not varied). */
export function variantGrid(
  modes: readonly ApfMode[] | null,
  eras: readonly EraName[] | null,
  bugSets: readonly (readonly BugName[])[] | null,
  variantSets: readonly (readonly string[])[] | null = null,
): Variant[] {
  const out: Variant[] = [];
  for (const mode of modes ?? [null])
    for (const era of eras ?? [null])
      for (const bugs of bugSets ?? [null])
        for (const variants of variantSets ?? [null]) {
          const parts = [
            mode,
            era,
            bugs === null ? null : bugs.length === 0 ? 'faithful' : bugs.join('+'),
            variants === null
              ? null
              : variants.length === 0
                ? 'base'
                : variantSet(variants)
                    .loaded.map((l) => l.name)
                    .join('+'),
          ];
          out.push({
            mode,
            era,
            bugs,
            ...(variants === null ? {} : { variants }),
            label: parts.filter((p) => p !== null).join(' '),
          });
        }
  return out;
}

export function compareModes(
  scenario: SimScenario,
  modes: readonly ApfMode[],
  nSeeds: number,
  onProgress: ((fraction: number) => void) | null = null,
  budget: Pick<SimOptions, 'maxEvents' | 'shouldStop'> = {},
): Comparison {
  return compareVariants(scenario, variantGrid(modes, null, null), nSeeds, onProgress, budget);
}

export function compareVariants(
  scenario: SimScenario,
  variants: readonly Variant[],
  nSeeds: number,
  onProgress: ((fraction: number) => void) | null = null,
  budget: Pick<SimOptions, 'maxEvents' | 'shouldStop'> = {},
): Comparison {
  const seeds = compareSeeds(scenario, nSeeds);
  const total = variants.length * seeds.length;
  let done = 0;
  const perMode = variants.map((variant) =>
    seeds.map((seed) => {
      const r = runSimulation(
        { ...applyVariant(scenario, variant), seed },
        { ...budget, onProgress: onProgress ? (f) => onProgress((done + f) / total) : null },
      );
      if (r.sim.stopped !== null) throw budgetError(scenario, variant, seed, done, total, r.sim.stopped);
      done++;
      onProgress?.(done / total);
      return r.metrics;
    }),
  );
  return summarizeComparison(scenario, variants, seeds, perMode);
}

/** The seeds of a comparison: the scenario's, then the next ones. */
export function compareSeeds(scenario: SimScenario, nSeeds: number): number[] {
  return Array.from({ length: nSeeds }, (_, i) => (scenario.seed + i) >>> 0);
}

function budgetError(
  scenario: SimScenario,
  variant: Variant,
  seed: number,
  index: number,
  total: number,
  stopped: string,
): BudgetError {
  return new BudgetError(
    `${scenario.file}: budget: ${stopped === 'max-events' ? '--max-events' : '--max-time'} reached in run ${index + 1} of ${total} (${variant.era === null && variant.bugs === null && (variant.variants ?? null) === null ? `apf ${variant.mode}` : variant.label}, seed ${seed}); a comparison needs every run, none printed`,
  );
}

/** One run of a comparison as a pool thread does it: the scenario with its seed, and the budgets. */
export interface CompareRunTask {
  scenario: SimScenario;
  maxEvents?: number;
  /** --max-time as an absolute time (performance.timeOrigin + performance.now(), in ms). */
  deadline?: number;
}

/** What a CompareRunTask returns: the run's metrics, and the budget that stopped it if one did. */
export interface CompareRunResult {
  metrics: RunMetrics;
  stopped: string | null;
}

/** A pool that runs a task module's function (src/pool/pool.ts's WorkerPool). */
export interface TaskRunner {
  map<A, R>(
    task: { module: string; fn: string },
    args: readonly A[],
    onResult?: ((index: number, result: R) => void) | null,
  ): Promise<R[]>;
}

/**
 * compareVariants with the runs spread over a pool's threads: the same runs with the same seeds, put back
 * in (variant, seed) order, so the comparison is identical to the serial one. A budget that runs out is
 * reported for the first run, in that order, that it stopped.
 */
export async function compareVariantsPooled(
  scenario: SimScenario,
  variants: readonly Variant[],
  nSeeds: number,
  pool: TaskRunner,
  /** The function that runs a CompareRunTask in a thread (the budget clock lives with the CLI). */
  task: { module: string; fn: string },
  onProgress: ((fraction: number) => void) | null = null,
  budget: { maxEvents?: number; deadline?: number } = {},
): Promise<Comparison> {
  const seeds = compareSeeds(scenario, nSeeds);
  const total = variants.length * seeds.length;
  const deadline = budget.deadline;
  const tasks: CompareRunTask[] = variants.flatMap((variant) =>
    seeds.map((seed) => ({
      scenario: { ...applyVariant(scenario, variant), seed },
      ...(budget.maxEvents !== undefined ? { maxEvents: budget.maxEvents } : {}),
      ...(deadline !== undefined ? { deadline } : {}),
    })),
  );
  let done = 0;
  const results = await pool.map<CompareRunTask, CompareRunResult>(task, tasks, () =>
    onProgress?.(++done / total),
  );
  results.forEach((r, i) => {
    if (r.stopped !== null)
      throw budgetError(
        scenario,
        variants[Math.floor(i / seeds.length)]!,
        seeds[i % seeds.length]!,
        i,
        total,
        r.stopped,
      );
  });
  const perMode = variants.map((_, v) =>
    results.slice(v * seeds.length, (v + 1) * seeds.length).map((r) => r.metrics),
  );
  return summarizeComparison(scenario, variants, seeds, perMode);
}

/** The comparison of runs already done: `runs[v][s]` is variant v with seed s. */
export function summarizeComparison(
  scenario: SimScenario,
  variants: readonly Variant[],
  seeds: readonly number[],
  runs: readonly (readonly RunMetrics[])[],
): Comparison {
  const perMode = variants.map((variant, v) => ({ variant, runs: runs[v]! }));
  const base = perMode[0]!;
  const tasksPerVcpu = Math.min(...scenario.vms.map((v) => v.workload.tasks_per_vcpu));
  const table = compareMetricsFor(scenario);
  const modesOnly = variants.every(
    (v) => v.mode !== null && v.era === null && v.bugs === null && (v.variants ?? null) === null,
  );
  const summaries = perMode.map(({ variant, runs }) => {
    const metrics: Record<string, Summary> = {};
    for (const m of table) {
      const values = runs.map(m.get);
      const s = summarize(values);
      const b = summarize(base.runs.map(m.get)).mean;
      metrics[m.key] = {
        ...s,
        ratio: b !== 0 && Number.isFinite(b) && Number.isFinite(s.mean) ? s.mean / b : null,
        values,
      };
    }
    const r: VariantResult = modesOnly
      ? { mode: variant.mode!, metrics }
      : {
          variant: variant.label,
          ...(variant.mode === null ? {} : { mode: variant.mode }),
          ...(variant.era === null ? {} : { era: variant.era }),
          ...(variant.bugs === null ? {} : { bugs: [...variant.bugs] }),
          ...(variant.variants == null
            ? {}
            : { variants: variantSet(variant.variants).loaded.map((l) => l.name) }),
          metrics,
        };
    return r;
  });
  return {
    scenario: scenario.name,
    seeds: [...seeds],
    modes: summaries,
    tasksPerVcpu,
    notes: modesOnly
      ? orderNotes(
          summaries.map((x) => ({ mode: x.mode!, metrics: x.metrics })),
          tasksPerVcpu,
        )
      : whatIfNotes(variants, summaries),
  };
}

/** With NUMA balancing on the host: the hinting faults that drive it and the migrations they cause. */
export const NUMA_COMPARE_METRICS: readonly CompareMetric[] = [
  {
    key: 'numa_hinting_faults_per_s',
    label: 'NUMA hinting faults/s',
    get: (m) => (m.measured_s > 0 && m.total.numa ? m.total.numa.hinting_faults / m.measured_s : Number.NaN),
    digits: 0,
  },
  {
    key: 'numa_migrations_per_s',
    label: 'NUMA migrations/s',
    get: (m) => (m.measured_s > 0 && m.total.numa ? m.total.numa.migrations / m.measured_s : Number.NaN),
    digits: 0,
  },
];

/** The rows a comparison of `scenario` shows. */
export function compareMetricsFor(scenario: SimScenario): readonly CompareMetric[] {
  if (!scenario.mmuNotifiers) return COMPARE_METRICS;
  return scenario.numa !== null
    ? [...COMPARE_METRICS, ...MMU_COMPARE_METRICS, ...NUMA_COMPARE_METRICS]
    : [...COMPARE_METRICS, ...MMU_COMPARE_METRICS];
}

const labelOf = (r: VariantResult): string => r.variant ?? r.mode ?? '';

/** A note on what a what-if switch changed: `variant` (with the switch) against `against` (without). */
export interface WhatIfNote {
  switch: BugName;
  variant: string;
  against: string;
  /** Whether the guest-fault rates differ by more than their two 95% intervals. */
  significant: boolean;
  text: string;
}

/** The notes under a comparison's table: the expected order of modes, or what a what-if switch changed. */
export type CompareNote = OrderNote | WhatIfNote;

/**
 * Notes on what-if switches: for each variant with `use-change-pte` against the same variant without it,
 * what Glisse's change_pte RFC changed in this run (SPTE zaps, guest faults, exits, guest work).
 */
function whatIfNotes(variants: readonly Variant[], results: readonly VariantResult[]): WhatIfNote[] {
  const notes: WhatIfNote[] = [];
  const key = (v: Variant, drop: BugName): string =>
    `${v.mode}|${v.era}|${(v.bugs ?? []).filter((b) => b !== drop).join('+')}`;
  const f0 = (x: number): string => x.toLocaleString('en-US', { maximumFractionDigits: 0 });
  variants.forEach((v, i) => {
    if (!v.bugs?.includes('use-change-pte')) return;
    const j = variants.findIndex(
      (w) =>
        w !== v &&
        !w.bugs?.includes('use-change-pte') &&
        key(w, 'use-change-pte') === key(v, 'use-change-pte'),
    );
    if (j < 0) return;
    const a = results[j]!.metrics;
    const b = results[i]!.metrics;
    const z = (m: Record<string, Summary>, k: string): number => m[k]?.mean ?? Number.NaN;
    const significant =
      Math.abs(z(a, 'guest_faults_per_s') - z(b, 'guest_faults_per_s')) >
      (a.guest_faults_per_s?.ci95 ?? 0) + (b.guest_faults_per_s?.ci95 ?? 0);
    const work = z(a, 'task_cpu_rate') > 0 ? z(b, 'task_cpu_rate') / z(a, 'task_cpu_rate') : Number.NaN;
    notes.push({
      switch: 'use-change-pte',
      variant: labelOf(results[i]!),
      against: labelOf(results[j]!),
      significant,
      text:
        `${labelOf(results[i]!)} against ${labelOf(results[j]!)}: with Glisse's change_pte RFC (2019, never ` +
        'merged) KSM and COW ranges skip the zap in invalidate_range_start and change_pte repoints the SPTE, ' +
        `so SPTEs zapped/s ${f0(z(a, 'sptes_zapped_per_s'))} → ${f0(z(b, 'sptes_zapped_per_s'))} and guest ` +
        `faults/s ${f0(z(a, 'guest_faults_per_s'))} → ${f0(z(b, 'guest_faults_per_s'))} (a read of a merged ` +
        `page no longer refaults); guest work ×${work.toFixed(3)}` +
        (significant ? '.' : '; the fault rates differ by less than their 95% intervals.'),
    });
  });
  return notes;
}

const fmt = (x: number, d: number): string =>
  x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

export function formatComparison(c: Comparison): string {
  const first = labelOf(c.modes[0]!);
  const table = [...COMPARE_METRICS, ...MMU_COMPARE_METRICS, ...NUMA_COMPARE_METRICS].filter(
    (m) => m.key in c.modes[0]!.metrics,
  );
  const rows: string[][] = [['', ...c.modes.map(labelOf)]];
  for (const m of table) {
    rows.push([
      m.label,
      ...c.modes.map(({ metrics }) => {
        const s = metrics[m.key]!;
        if (Number.isNaN(s.mean)) return '–';
        const ratio = s.ratio === null ? '' : ` (×${s.ratio.toFixed(2)})`;
        return `${fmt(s.mean, m.digits)} ± ${fmt(s.ci95, m.digits)}${ratio}`;
      }),
    ]);
  }
  const head =
    `${c.scenario}: ${c.seeds.length} seed(s) per mode (${c.seeds.join(', ')}); ` +
    `mean ± 95% confidence interval, (×ratio) against ${first}`;
  const notes = c.notes.map((n) => `note: ${n.text}\n`).join('');
  return `${head}\n\n${alignTable(rows)}\n${notes ? `\n${notes}` : ''}`;
}
