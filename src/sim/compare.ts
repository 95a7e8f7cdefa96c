// Protocol comparison: the same scenario under several APF modes, each with the same n seeds (so a mode
// sees the same workload draws as the others), summarized per metric as mean ± the 95% confidence
// interval of the mean across seeds (Student's t, n − 1 degrees of freedom) and the ratio of the mean to
// the first mode's.
import { BudgetError } from '../scenario/usage_error.ts';
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
    get: (m) => (m.total.page_ready.count > 0 ? m.total.page_ready.p50_us : Number.NaN),
    digits: 1,
  },
  {
    key: 'page_ready_p99',
    label: 'page-ready latency p99 µs',
    get: (m) => (m.total.page_ready.count > 0 ? m.total.page_ready.p99_us : Number.NaN),
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

export interface Comparison {
  scenario: string;
  seeds: number[];
  modes: Array<{ mode: ApfMode; metrics: Record<string, Summary> }>;
  /** The smallest tasks-per-vCPU of the scenario's VMs (the expected order assumes more than one). */
  tasksPerVcpu: number;
  /** Where guest work departs from interrupt ≥ legacy ≥ off ≥ sync, and why (compare_order.ts). */
  notes: OrderNote[];
}

export function compareModes(
  scenario: SimScenario,
  modes: readonly ApfMode[],
  nSeeds: number,
  onProgress: ((fraction: number) => void) | null = null,
  budget: Pick<SimOptions, 'maxEvents' | 'shouldStop'> = {},
): Comparison {
  const seeds = Array.from({ length: nSeeds }, (_, i) => (scenario.seed + i) >>> 0);
  const total = modes.length * seeds.length;
  let done = 0;
  const perMode = modes.map((mode) => {
    const runs = seeds.map((seed) => {
      const r = runSimulation(
        { ...withMode(scenario, mode), seed },
        { ...budget, onProgress: onProgress ? (f) => onProgress((done + f) / total) : null },
      );
      if (r.sim.stopped !== null)
        throw new BudgetError(
          `${scenario.file}: budget: ${r.sim.stopped === 'max-events' ? '--max-events' : '--max-time'} reached in run ${done + 1} of ${total} (apf ${mode}, seed ${seed}); a comparison needs every run, none printed`,
        );
      done++;
      onProgress?.(done / total);
      return r.metrics;
    });
    return { mode, runs };
  });
  const base = perMode[0]!;
  const tasksPerVcpu = Math.min(...scenario.vms.map((v) => v.workload.tasks_per_vcpu));
  const summaries = perMode.map(({ mode, runs }) => {
    const metrics: Record<string, Summary> = {};
    for (const m of COMPARE_METRICS) {
      const values = runs.map(m.get);
      const s = summarize(values);
      const b = summarize(base.runs.map(m.get)).mean;
      metrics[m.key] = {
        ...s,
        ratio: b !== 0 && Number.isFinite(b) && Number.isFinite(s.mean) ? s.mean / b : null,
        values,
      };
    }
    return { mode, metrics };
  });
  return {
    scenario: scenario.name,
    seeds,
    modes: summaries,
    tasksPerVcpu,
    notes: orderNotes(summaries, tasksPerVcpu),
  };
}

const fmt = (x: number, d: number): string =>
  x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

export function formatComparison(c: Comparison): string {
  const first = c.modes[0]!.mode;
  const rows: string[][] = [['', ...c.modes.map((m) => m.mode)]];
  for (const m of COMPARE_METRICS) {
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
