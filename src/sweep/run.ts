// Running a sweep: every point × seed not already in the output directory, on a local pool of threads or
// through a BullMQ queue served by `kvmsim worker`s; each result is appended to points.jsonl as it arrives,
// and the final files are written once every point is done (output.ts).
import { WorkerPool } from '../pool/pool.ts';
import { startCountProgress } from '../pool/progress.ts';
import { DEFAULT_QUEUE_NAME, type RedisTarget, submitAndCollect } from '../pool/queue.ts';
import { ScenarioError } from '../scenario/scenario_error.ts';
import { VERSION as KVMSIM_VERSION } from '../scenario/version.ts';
import { runSimulation } from '../sim/run.ts';
import { getPath, parsePath } from './field_path.ts';
import type { Sweep } from './load.ts';
import type { SweepOutput, SweepSummary } from './output.ts';
import { POINT_TASK, type PointJob, type PointResult } from './point_task.ts';

export interface RunSweepOptions {
  /** Local threads (1: inline, one point after the other). Ignored with `queue`. */
  jobs: number;
  queue?: { target: RedisTarget; name?: string };
  progress: boolean;
}

/**
 * Checks that every metric is a number (or null) in the JSON of `kvmsim run --json`, on a run of the
 * first point cut short after a few events: the shape of that JSON does not depend on how long a run is.
 */
export function checkMetrics(sweep: Sweep): void {
  const first = sweep.points[0]!;
  const { metrics } = runSimulation({ ...first.scenario, seed: sweep.seeds[0]! }, { maxEvents: 1 });
  const json = JSON.parse(JSON.stringify(metrics)) as Record<string, unknown>;
  sweep.metrics.forEach((m, i) => {
    const v = getPath(json, parsePath(m)!);
    if (typeof v !== 'number' && v !== null)
      throw new ScenarioError(
        sweep.file,
        `metrics[${i}]`,
        `${m} is not a number in the output of kvmsim run --json (${v === undefined ? 'no such field' : 'a group of fields'}); metrics are paths such as total.work.task_cpu_rate or host.swap.utilization (docs/sweeps.md)`,
      );
  });
}

/** The queue job id of a point × seed: the sweep's hash, so two sweeps never share a job. */
export const jobId = (sweep: Sweep, j: { pointIndex: number; seed: number }): string =>
  `${sweep.id}-p${j.pointIndex}-s${j.seed}`;

export async function runSweep(sweep: Sweep, out: SweepOutput, opts: RunSweepOptions): Promise<SweepSummary> {
  const total = sweep.points.length * sweep.seeds.length;
  const jobs: PointJob[] = [];
  for (const p of sweep.points)
    for (const seed of sweep.seeds)
      if (!out.done.has(`${p.pointIndex}/${seed}`))
        jobs.push({
          version: KVMSIM_VERSION,
          pointIndex: p.pointIndex,
          seed,
          file: sweep.baseFile,
          raw: p.raw,
          metrics: sweep.metrics,
        });
  const progress = opts.progress ? startCountProgress('sweep', total, total - jobs.length) : null;
  const describe = (j: PointJob): string =>
    `point ${j.pointIndex} (${Object.entries(sweep.points[j.pointIndex]!.point)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ')}) seed ${j.seed}`;
  const record = (j: PointJob, r: PointResult): void => {
    out.append({
      pointIndex: j.pointIndex,
      point: sweep.points[j.pointIndex]!.point,
      seed: j.seed,
      metrics: r.metrics,
    });
    progress?.tick(describe(j));
  };
  try {
    if (jobs.length > 0) {
      if (opts.queue !== undefined) {
        const byId = new Map(jobs.map((j) => [jobId(sweep, j), j]));
        await submitAndCollect<PointJob, PointResult>({
          target: opts.queue.target,
          name: opts.queue.name ?? DEFAULT_QUEUE_NAME,
          tasks: jobs.map((j) => ({ id: jobId(sweep, j), data: j })),
          onResult: (id, r) => record(byId.get(id)!, r),
        });
      } else {
        const pool = new WorkerPool(Math.min(opts.jobs, jobs.length), { threads: false });
        try {
          await pool.map<PointJob, PointResult>(POINT_TASK, jobs, (i, r) => record(jobs[i]!, r));
        } finally {
          await pool.close();
        }
      }
    }
  } finally {
    progress?.stop();
  }
  return out.finish();
}
