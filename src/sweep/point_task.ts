// One sweep point × seed, as a pool thread or a queue worker runs it: load the point's scenario (plain
// data, so it travels through a thread message or a Redis job as JSON), simulate with the seed, and read
// the metrics at their paths in the JSON that `kvmsim run --json` prints. A pure function of its argument.
import { taskModule } from '../pool/pool.ts';
import { parseSimScenario, simWithVariants } from '../sim/load_sim.ts';
import { runSimulation } from '../sim/run.ts';
import { getPath, parsePath } from './field_path.ts';

export interface PointJob {
  /** The kvmsim version of the submitting side (a queue worker refuses another version's points). */
  version: string;
  pointIndex: number;
  seed: number;
  /** The base scenario's path (for messages) and the point's scenario data. */
  file: string;
  raw: unknown;
  metrics: string[];
}

export interface PointResult {
  /** Each metric's value; null where `kvmsim run --json` prints null (a rate with nothing to measure). */
  metrics: Record<string, number | null>;
  /** Metrics with no number at their path in the run's JSON. */
  missing: string[];
}

export async function runPoint(job: PointJob): Promise<PointResult> {
  // Variant modules the point names load in this thread, relative to the scenario file (docs/variants.md).
  const scenario = await simWithVariants(parseSimScenario(job.raw, job.file), job.file);
  scenario.seed = job.seed;
  const { metrics: m } = runSimulation(scenario);
  const json = JSON.parse(JSON.stringify(m)) as unknown;
  const metrics: Record<string, number | null> = {};
  const missing: string[] = [];
  for (const name of job.metrics) {
    const v = getPath(json, parsePath(name) ?? []);
    if (typeof v === 'number' || v === null) metrics[name] = v;
    else {
      metrics[name] = null;
      missing.push(name);
    }
  }
  return { metrics, missing };
}

/** The task reference for WorkerPool.run. */
export const POINT_TASK = { module: taskModule(import.meta.url, 'point'), fn: 'runPoint' } as const;
