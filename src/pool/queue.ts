// Tasks across machines through BullMQ on Redis (docs/sweeps.md, "Several machines"). The submitting side
// adds one job per task, with a job id derived from the task (so adding it again is a no-op, and a rerun
// picks up jobs that finished while nobody was collecting), and collects the return values; workers on any
// number of hosts take jobs and run them. BullMQ's own machinery does the rest: a job whose worker died
// loses its lock and is moved back to the waiting list by another worker's stalled-job check, then
// retried; a job finishes once (its return value is stored with it), and the collector keys results by
// job id, so a retried task is neither lost nor counted twice.
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { UsageError } from '../scenario/usage_error.ts';

export { UnrecoverableError };

/** The queue that `kvmsim worker` serves unless told another (--queue-name). */
export const DEFAULT_QUEUE_NAME = 'kvmsim';

export interface RedisTarget {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
}

/** Parses redis://[user:password@]host[:port][/db]; a bad URL is a UsageError naming `flag`. */
export function parseRedisUrl(flag: string, v: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    u = new URL('invalid://');
  }
  const db = u.pathname.replace(/^\//, '');
  if (u.protocol !== 'redis:' || u.hostname === '' || (db !== '' && !/^\d+$/.test(db)))
    throw new UsageError(
      `${flag}: expected a Redis URL such as redis://127.0.0.1:6379 (redis://[user:password@]host[:port][/db]), got ${JSON.stringify(v)}`,
    );
  const t: RedisTarget = { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : 6379 };
  if (u.username) t.username = decodeURIComponent(u.username);
  if (u.password) t.password = decodeURIComponent(u.password);
  if (db !== '') t.db = Number(db);
  return t;
}

const connection = (t: RedisTarget) => ({ ...t, maxRetriesPerRequest: null });

async function ready(
  what: { waitUntilReady(): Promise<unknown> },
  t: RedisTarget,
  ms: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new UsageError(`cannot reach Redis at ${t.host}:${t.port} within ${ms / 1000} s`)),
      ms,
    );
  });
  try {
    await Promise.race([what.waitUntilReady(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface QueueTask<D> {
  /** Unique per task and stable across reruns (letters, digits, '-' and '_'). */
  id: string;
  data: D;
}

/**
 * Adds the tasks to queue `name` and waits until every one has finished, calling `onResult` once per task
 * (in the order they finish) and removing the finished job from Redis. A job that failed for good (its
 * worker refused it, or it stalled more often than the workers allow) ends the wait with a UsageError.
 */
export async function submitAndCollect<D, R>(opts: {
  target: RedisTarget;
  name: string;
  tasks: readonly QueueTask<D>[];
  onResult: (id: string, result: R) => void;
  pollMs?: number;
  connectTimeoutMs?: number;
}): Promise<void> {
  const queue = new Queue(opts.name, { connection: connection(opts.target) });
  // An unreachable server is reported once, by `ready`; the client's own error events are expected then.
  queue.on('error', () => {});
  try {
    await ready(queue, opts.target, opts.connectTimeoutMs ?? 10_000);
    const pending = new Set(opts.tasks.map((t) => t.id));
    // A job that failed in an earlier submission (say, on a worker of another version) is tried again.
    for (const job of await queue.getJobs(['failed'], 0, -1))
      if (pending.has(job.id ?? '')) await job.remove();
    // Jobs that already exist (a previous submission) are left as they are: BullMQ ignores an add with an
    // existing job id.
    await queue.addBulk(
      opts.tasks.map((t) => ({
        name: 'task',
        data: t.data,
        opts: { jobId: t.id, removeOnComplete: false, removeOnFail: false },
      })),
    );
    const poll = opts.pollMs ?? 200;
    const byId = new Map(opts.tasks.map((t) => [t.id, t]));
    for (let round = 1; pending.size > 0; round++) {
      for (const job of await queue.getJobs(['completed'], 0, -1)) {
        const id = job.id ?? '';
        if (!pending.has(id)) continue;
        // A job becomes completed atomically with its return value.
        opts.onResult(id, job.returnvalue as R);
        pending.delete(id);
        await job.remove();
      }
      for (const job of await queue.getJobs(['failed'], 0, -1)) {
        const id = job.id ?? '';
        if (!pending.has(id)) continue;
        const why = job.failedReason;
        await job.remove();
        throw new UsageError(`job ${id} failed on a worker: ${why}`);
      }
      // Now and then, check that every pending job still exists (a Redis restarted without persistence
      // loses them): add the missing ones again.
      if (round % 25 === 0)
        for (const id of pending)
          if ((await queue.getJob(id)) === undefined)
            await queue.add('task', byId.get(id)!.data, {
              jobId: id,
              removeOnComplete: false,
              removeOnFail: false,
            });
      if (pending.size > 0) await new Promise((r) => setTimeout(r, poll));
    }
  } finally {
    await queue.close();
  }
}

export interface QueueWorker {
  close(): Promise<void>;
  /** Resolves when the worker has been closed (by close or by a signal). */
  closed: Promise<void>;
}

/**
 * Serves queue `name`: takes up to `concurrency` jobs at a time and resolves each with `handle(data)`.
 * `handle` must not block this thread (run the work in a WorkerPool), or the job locks could not be renewed
 * and BullMQ would think the worker dead. A job whose lock expires (its worker died) is moved back to
 * waiting by the stalled-job check of any worker, every `lockDurationMs`, and retried up to
 * `maxStalledCount` times.
 */
export async function startQueueWorker<D, R>(opts: {
  target: RedisTarget;
  name: string;
  concurrency: number;
  lockDurationMs: number;
  maxStalledCount?: number;
  handle: (data: D, jobId: string) => Promise<R>;
  connectTimeoutMs?: number;
}): Promise<QueueWorker> {
  const worker = new Worker<D, R>(opts.name, async (job) => await opts.handle(job.data, job.id ?? ''), {
    connection: connection(opts.target),
    concurrency: opts.concurrency,
    lockDuration: opts.lockDurationMs,
    stalledInterval: opts.lockDurationMs,
    maxStalledCount: opts.maxStalledCount ?? 3,
    autorun: false,
  });
  worker.on('error', () => {});
  await ready(worker, opts.target, opts.connectTimeoutMs ?? 10_000);
  const closed = worker.run();
  return {
    close: () => worker.close(),
    closed: closed.then(() => undefined),
  };
}
