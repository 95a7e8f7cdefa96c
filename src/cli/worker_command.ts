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
}

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
      const worker = await startQueueWorker<PointJob, PointResult>({
        target,
        name: flags.queueName,
        concurrency: jobs,
        lockDurationMs,
        handle: async (job, id) => {
          if (job.version !== KVMSIM_VERSION)
            throw new UnrecoverableError(
              `this worker runs kvmsim ${KVMSIM_VERSION}, the sweep was submitted by kvmsim ${job.version}`,
            );
          log(`started ${id} (point ${job.pointIndex} seed ${job.seed})`);
          const r = await pool.run<PointResult>(POINT_TASK, job);
          log(`finished ${id}`);
          return r;
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
