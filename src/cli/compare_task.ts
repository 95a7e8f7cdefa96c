// One run of `kvmsim compare --jobs N` in a pool thread (src/sim/compare.ts, compareVariantsPooled). It
// lives with the CLI because it reads the clock for --max-time: the simulator only calls back, every 2^16
// events, and never reads a clock itself (budget_flags.ts).

import { taskModule } from '../pool/pool.ts';
import type { CompareRunResult, CompareRunTask } from '../sim/compare.ts';
import { runSimulation } from '../sim/run.ts';
import { loadVariants } from '../variant/load.ts';

/** performance.timeOrigin + performance.now(): a time that means the same in every thread. */
export const absoluteNow = (): number => performance.timeOrigin + performance.now();

export async function runCompareTask(t: CompareRunTask): Promise<CompareRunResult> {
  const deadline = t.deadline;
  // A thread loads the variants itself (named relative to the working directory it shares).
  for (const vm of t.scenario.vms)
    if (vm.variants !== undefined) await loadVariants(vm.variants, process.cwd());
  const r = runSimulation(t.scenario, {
    ...(t.maxEvents !== undefined ? { maxEvents: t.maxEvents } : {}),
    ...(deadline !== undefined ? { shouldStop: () => absoluteNow() >= deadline } : {}),
  });
  return { metrics: r.metrics, stopped: r.sim.stopped };
}

export const COMPARE_TASK = { module: taskModule(import.meta.url, 'compare'), fn: 'runCompareTask' } as const;
