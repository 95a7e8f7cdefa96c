// `kvmsim worker redis://HOST:PORT`: serve the points of sweeps submitted with `kvmsim sweep --queue`
// (docs/sweeps.md, "Several machines"). Runs until SIGINT or SIGTERM, then finishes the points it holds.
// Lazy like every command (main.ts): the pool and BullMQ load when the action runs.
import type { Command } from 'commander';
import { UsageError } from '../scenario/usage_error.ts';
import type { PointJob, PointResult } from '../sweep/point_task.ts';
import { parseMaxTime } from './budget_flags.ts';

interface WorkerFlags {
  jobs?: string;
  queueName: string;
  lockDuration: string;
  json?: boolean;
}

/** `worker --json` (docs/cli.md, "kvmsim worker URL"): one line per point it ran, a summary when it stops. */
export type WorkerJsonLine =
  | {
      job: string;
      file: string;
      point: number;
      seed: number;
      status: 'done';
      metrics: Record<string, number | null>;
      missing: string[];
    }
  | { job: string; file: string; point: number; seed: number; status: 'failed'; error: string }
  | {
      summary: { done: number; failed: number };
      queue: string;
      redis: string;
      threads: number;
      version: string;
    };

export function register(program: Command): void {
  program
    .command('worker')
    .description('serve the points of sweeps submitted with `kvmsim sweep --queue` (BullMQ on Redis)')
    .argument('<url>', 'the Redis server: redis://HOST:PORT')
    .option('--jobs <n>', `points at a time, each on a thread of its own (default: one per core)`)
    .option('--queue-name <name>', 'the BullMQ queue', 'kvmsim')
    .option(
      '--lock-duration <duration>',
      "how long a point's lock lasts without renewal: a dead worker's point is retried after about twice this",
      '30s',
    )
    .option('--json', 'print a JSON line per point run (done or failed) and a summary line when it stops')
    .action(async (url: string, flags: WorkerFlags) => {
      const { parseCountFlag } = await import('./sim_flags.ts');
      const { defaultJobs, WorkerPool } = await import('../pool/pool.ts');
      const { parseRedisUrl, startQueueWorker, UnrecoverableError } = await import('../pool/queue.ts');
      const { POINT_TASK } = await import('../sweep/point_task.ts');
      const { VERSION: KVMSIM_VERSION } = await import('../scenario/version.ts');
      const target = parseRedisUrl('<url>', url);
      const jobs = flags.jobs !== undefined ? parseCountFlag('--jobs', flags.jobs, 1024) : defaultJobs();
      const lockDurationMs = parseLockDuration(flags.lockDuration);
      // Threads even for one job: this thread must stay free to renew the job locks.
      const pool = new WorkerPool(jobs);
      const log = (s: string) => process.stderr.write(`kvmsim worker: ${s}\n`);
      const json = (line: WorkerJsonLine) => {
        if (flags.json) process.stdout.write(`${JSON.stringify(line)}\n`);
      };
      const count = { done: 0, failed: 0 };
      const worker = await startQueueWorker<PointJob, PointResult>({
        target,
        name: flags.queueName,
        concurrency: jobs,
        lockDurationMs,
        handle: async (job, id) => {
          const point = { job: id, file: job.file, point: job.pointIndex, seed: job.seed };
          try {
            if (job.version !== KVMSIM_VERSION)
              throw new UnrecoverableError(
                `this worker runs kvmsim ${KVMSIM_VERSION}, the sweep was submitted by kvmsim ${job.version}`,
              );
            log(`started ${id} (point ${job.pointIndex} seed ${job.seed})`);
            const r = await pool.run<PointResult>(POINT_TASK, job);
            log(`finished ${id}`);
            count.done++;
            json({ ...point, status: 'done', metrics: r.metrics, missing: r.missing });
            return r;
          } catch (e) {
            count.failed++;
            json({ ...point, status: 'failed', error: e instanceof Error ? e.message : String(e) });
            throw e;
          }
        },
      });
      log(`serving queue ${flags.queueName} on ${target.host}:${target.port} with ${jobs} thread(s)`);
      const stop = () => {
        log('stopping after the points in progress');
        void worker.close();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await worker.closed;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await pool.close();
        json({
          summary: count,
          queue: flags.queueName,
          redis: `${target.host}:${target.port}`,
          threads: jobs,
          version: KVMSIM_VERSION,
        });
      }
    });
}

function parseLockDuration(v: string): number {
  let ms: number;
  try {
    ms = parseMaxTime(v);
  } catch {
    ms = Number.NaN;
  }
  if (!(ms >= 1000))
    throw new UsageError(
      `--lock-duration: expected a duration like 30s or 2m (at least 1s), got ${JSON.stringify(v)}`,
    );
  return ms;
}
