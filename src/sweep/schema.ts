// The `kind: sweep` scenario (docs/sweeps.md): a base `kind: sim` scenario, fields set on every point, a
// grid of field paths × values, seeds, and the metrics to collect from each run.
import { z } from 'zod';
import { intIn } from '../scenario/values.ts';
import { parsePath } from './field_path.ts';

/**
 * The metrics collected when a sweep names none: the rows of `kvmsim compare`, as paths in the output of
 * `kvmsim run --json`.
 */
export const DEFAULT_SWEEP_METRICS: readonly string[] = [
  'total.work.task_cpu_rate',
  'total.work.bursts_per_s',
  'total.vcpu_time.task',
  'total.vcpu_time.guest_kernel',
  'total.vcpu_time.apf_exits',
  'total.vcpu_time.idle',
  'total.vcpu_time.apf_halted',
  'total.vcpu_time.sync_blocked',
  'total.faults.per_s',
  'total.page_ready.p50_us',
  'total.page_ready.p99_us',
  'host.swap.utilization',
];

const fieldPath = (what: string, allowAll: boolean) =>
  z.string({ error: `expected a field path such as ${what}` }).refine(
    (p) => {
      const steps = parsePath(p);
      return steps !== null && (allowAll || steps.every((s) => !('all' in s)));
    },
    {
      message: `expected a field path such as ${what} (names joined by ".", list indices as [0]${allowAll ? ', [*] for every element' : ''})`,
    },
  );

const GridAxisSchema = z.strictObject({
  /** A field of the base scenario, e.g. host.ram, vms[*].apf, vms[0].workload.tasks_per_vcpu. */
  path: fieldPath('host.ram or vms[*].apf', true),
  /** The values it takes, as they would be written in the base scenario. */
  values: z.array(z.unknown()).min(1, 'expected at least one value'),
  /**
   * Other fields that move with this one: each takes its list's value at the same position (e.g. the
   * initial residency that fills each host.ram value). The point is still named by `path` alone.
   */
  with: z.record(fieldPath('vms[*].initial_residency', true), z.array(z.unknown())).default({}),
});

export const SweepScenarioSchema = z.strictObject({
  kind: z.literal('sweep'),
  name: z.string().optional(),
  description: z.string().optional(),
  /** The `kind: sim` scenario every point starts from, relative to this file. */
  base: z.string({ error: 'expected the path of a kind: sim scenario, relative to this file' }),
  /** Fields set on every point before the grid's (e.g. a shorter duration), by path. */
  set: z.record(fieldPath('duration or host.swap.channels', true), z.unknown()).default({}),
  /** The axes: every combination of their values is a point (the first axis varies slowest). */
  grid: z.array(GridAxisSchema).min(1, 'expected at least one axis (path and values)'),
  /** How many seeds per point (the base's seed, seed+1, …), or the list of seeds. */
  seeds: z
    .union([intIn(1, 1000), z.array(intIn(0, 0xffffffff)).min(1, 'expected at least one seed')], {
      error: 'expected a number of seeds 1..1000 or a list of seeds (integers 0..4294967295)',
    })
    .default(1),
  /** The first seed when `seeds` is a number (default: the base scenario's). */
  seed: intIn(0, 0xffffffff).optional(),
  /** Metrics to collect: paths in the output of `kvmsim run --json` (default: compare's rows). */
  metrics: z
    .array(fieldPath('total.work.task_cpu_rate', false))
    .min(1, 'expected at least one metric')
    .optional(),
});

export type SweepScenarioInput = z.output<typeof SweepScenarioSchema>;
