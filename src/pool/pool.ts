// A pool of worker threads that run independent tasks (simulation runs, sweep points) in parallel, one
// thread per core by default. A task names a module and one of its exported functions: the thread imports
// the module (through tsx, so the sources run as they are) and calls the function with a structured-clone
// copy of the argument. Tasks are pure functions of their argument (a scenario and a seed), so results do
// not depend on which thread ran them or when; callers put results back in task order.
//
// With one job and `threads: false` the pool runs tasks inline in this thread, one after the other: the
// serial run that a parallel one must equal byte for byte.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ScenarioError } from '../scenario/scenario_error.ts';
import { BudgetError, StuckError, UsageError } from '../scenario/usage_error.ts';

export interface TaskRef {
  /** The module's URL (import.meta.resolve or new URL(…, import.meta.url).href). */
  module: string;
  /** The exported function: (arg) => result or Promise of result. */
  fn: string;
}

/** Default --jobs: one per core the process may use. */
export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

interface Pending {
  task: TaskRef;
  arg: unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  busy: Pending | null;
  /** KVMSIM_POOL_PROFILE: when the thread was started and when its task was posted (ms, epoch-based). */
  spawnedAt: number;
  postedAt: number;
  prof: SlotProfile;
}

/** Where a thread's time went, for KVMSIM_POOL_PROFILE (ms). */
interface SlotProfile {
  tasks: number;
  /** Starting the thread, up to its first task's start (includes the first message's delivery). */
  bootMs: number;
  importMs: number;
  runMs: number;
  /** Round trips minus import and run: posting the argument, cloning it, sending the result back. */
  transferMs: number;
  /** When its last result arrived. */
  lastAt: number;
}

/** KVMSIM_POOL_PROFILE=1: at close, one line per thread on stderr saying where its wall time went. */
const PROFILE = process.env.KVMSIM_POOL_PROFILE === '1';
const nowMs = (): number => performance.timeOrigin + performance.now();

/** What a thread sends back for a task that threw. */
export interface TaskFailure {
  name: string;
  message: string;
  stack?: string;
  /** A ScenarioError's parts. */
  file?: string;
  field?: string;
  allowed?: string;
}

/** An error thrown by a task in a worker thread that is not one of kvmsim's user-facing errors. */
export class TaskError extends Error {
  constructor(f: TaskFailure) {
    super(f.message);
    this.name = f.name;
    if (f.stack !== undefined) this.stack = f.stack;
  }
}

/** The error a task threw in a thread, as the same class here (a ScenarioError still exits 2). */
export function revive(f: TaskFailure): Error {
  const e =
    f.name === 'ScenarioError' && f.file !== undefined
      ? new ScenarioError(f.file, f.field ?? '', f.allowed ?? '')
      : f.name === 'UsageError' || f.name === 'VariantError'
        ? new UsageError(f.message)
        : f.name === 'BudgetError'
          ? new BudgetError(f.message)
          : f.name === 'StuckError'
            ? new StuckError(f.message)
            : new TaskError(f);
  if (f.stack !== undefined) e.stack = f.stack;
  return e;
}

/** The inverse of revive, in the thread. */
export function describeFailure(e: unknown): TaskFailure {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const f: TaskFailure = { name: e.name, message: e.message };
  if (e.stack !== undefined) f.stack = e.stack;
  if (e instanceof ScenarioError) Object.assign(f, { file: e.file, field: e.field, allowed: e.allowed });
  return f;
}

/**
 * Running from the build (dist/, scripts/build.mjs; not a .ts file), this module is part of a bundle there, and the
 * build put the worker next to it as dist/pool-worker.js (and each task module as dist/task-*.js: see
 * `taskModule`); an installed package has no tsx. From the sources, the worker is TypeScript run by tsx.
 */
const BUILT = !import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(BUILT ? './pool-worker.js' : './pool_worker.ts', import.meta.url).href;

/** The worker thread's bootstrap: the built worker, or tsx's loader first and then the worker module. */
function bootstrap(): string {
  if (BUILT) return `import(${JSON.stringify(WORKER_URL)});`;
  const tsx = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL)}); });`;
}

/**
 * A task module's URL for WorkerPool tasks, given the module's own `import.meta.url` and the name the build
 * gives it in dist/ (`task-NAME.js`, an entry point of its own, so its exports keep their names): from a
 * built chunk, that file beside it; from the sources, the module itself.
 */
export function taskModule(url: string, builtName: string): string {
  return url.endsWith('.ts') ? url : new URL(`./task-${builtName}.js`, url).href;
}

export class WorkerPool {
  readonly jobs: number;
  private readonly inline: boolean;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private closed = false;
  private readonly profiles: SlotProfile[] = [];
  private readonly createdAt = nowMs();
  private inlineRunMs = 0;
  private inlineTasks = 0;

  private readonly callerRuns: boolean;

  /**
   * `jobs` threads; with `threads: false` and one job, tasks run inline in the calling thread. `map` uses
   * the calling thread as one of its `jobs` lanes (and `jobs - 1` threads; mapWithCaller) unless
   * `callerRuns` is false; `run` always uses threads.
   */
  constructor(jobs: number = defaultJobs(), opts: { threads?: boolean; callerRuns?: boolean } = {}) {
    this.jobs = Math.max(1, Math.floor(jobs));
    this.inline = this.jobs === 1 && opts.threads === false;
    // KVMSIM_POOL_CALLER_RUNS=0: every task on a thread, as before mapWithCaller (the bench's comparison).
    this.callerRuns = (opts.callerRuns ?? process.env.KVMSIM_POOL_CALLER_RUNS !== '0') && !this.inline;
  }

  /** Runs one task; resolves with its result, rejects with the task's error (a TaskError from a thread). */
  run<R>(task: TaskRef, arg: unknown): Promise<R> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    if (this.inline) return runInline(task, arg) as Promise<R>;
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ task, arg, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /** Runs every argument through `task`; results in argument order. `onResult` sees each as it finishes. */
  async map<A, R>(
    task: TaskRef,
    args: readonly A[],
    onResult: ((index: number, result: R) => void) | null = null,
  ): Promise<R[]> {
    const out = new Array<R>(args.length);
    if (this.inline) {
      // One at a time, in order: the serial run.
      for (let i = 0; i < args.length; i++) {
        const t0 = PROFILE ? nowMs() : 0;
        out[i] = (await runInline(task, args[i])) as R;
        if (PROFILE) {
          this.inlineRunMs += nowMs() - t0;
          this.inlineTasks++;
        }
        onResult?.(i, out[i]!);
      }
      return out;
    }
    if (this.callerRuns && args.length > 1) return this.mapWithCaller(task, args, onResult);
    await Promise.all(
      args.map((a, i) =>
        this.run<R>(task, a).then((r) => {
          out[i] = r;
          onResult?.(i, r);
        }),
      ),
    );
    return out;
  }

  /**
   * `map` with the calling thread as one lane. Where the time of a parallel sweep went (KVMSIM_POOL_PROFILE,
   * BENCHMARKS.md "Sweep worker pool"): a thread spends a few hundred ms starting and importing the task
   * module before its first task, while the calling thread, which has the task's code loaded and compiled
   * already, sat idle. Here the calling thread starts on the first task at once, and `jobs - 1` threads
   * join as they come up. Tasks are claimed in index order from a shared counter (Atomics), by the threads
   * themselves, so a thread never waits for the calling thread (busy in a task, not reading messages) to
   * hand it work. Results go back in index order as before: the outcome is the same as a serial run's.
   */
  private async mapWithCaller<A, R>(
    task: TaskRef,
    args: readonly A[],
    onResult: ((index: number, result: R) => void) | null,
  ): Promise<R[]> {
    const n = args.length;
    const out = new Array<R>(n);
    const counter = new Int32Array(new SharedArrayBuffer(4));
    let failure: Error | null = null;
    const fail = (e: Error) => {
      failure ??= e;
      Atomics.store(counter, 0, n); // nobody claims another task
    };
    const threads = Math.min(this.jobs - 1, n - 1);
    const workers: Worker[] = [];
    const finished: Promise<void>[] = [];
    let terminating = false;
    for (let t = 0; t < threads; t++) {
      const worker = new Worker(bootstrap(), { eval: true });
      workers.push(worker);
      const spawnedAt = nowMs();
      const prof: SlotProfile = { tasks: 0, bootMs: 0, importMs: 0, runMs: 0, transferMs: 0, lastAt: 0 };
      if (PROFILE) this.profiles.push(prof);
      finished.push(
        new Promise<void>((resolve) => {
          worker.on('message', (m: BatchMessage) => {
            if (m.kind === 'done') return resolve();
            if (m.times !== undefined && PROFILE) {
              const at = nowMs();
              const startedAt = m.times.sentAt - m.times.runMs - m.times.importMs;
              if (prof.tasks === 0) prof.bootMs = startedAt - spawnedAt;
              prof.transferMs += at - m.times.sentAt;
              prof.importMs += m.times.importMs;
              prof.runMs += m.times.runMs;
              prof.tasks++;
              prof.lastAt = at;
            }
            if (m.ok) {
              out[m.index] = m.result as R;
              if (failure === null) onResult?.(m.index, m.result as R);
            } else fail(revive(m.failure));
          });
          worker.on('error', (e) => {
            fail(e instanceof Error ? e : new Error(String(e)));
            resolve();
          });
          worker.on('exit', (code) => {
            // terminate() (below, once every thread said done or on a failure) exits with code 1.
            if (!terminating) fail(new Error(`a pool worker thread exited (code ${code}) during a task`));
            resolve();
          });
        }),
      );
      worker.postMessage({ batch: true, module: task.module, fn: task.fn, args, counter: counter.buffer });
    }
    try {
      for (;;) {
        const i = Atomics.add(counter, 0, 1);
        if (i >= n || failure !== null) break;
        const t0 = PROFILE ? nowMs() : 0;
        try {
          out[i] = (await runInline(task, args[i])) as R;
        } catch (e) {
          fail(e instanceof Error ? e : new Error(String(e)));
          break;
        }
        if (PROFILE) {
          this.inlineRunMs += nowMs() - t0;
          this.inlineTasks++;
        }
        onResult?.(i, out[i]!);
        // Let the threads' results (progress, appended rows) through between two tasks of this thread.
        await new Promise<void>((r) => setImmediate(r));
      }
      if (failure === null) await Promise.all(finished);
    } finally {
      terminating = true;
      await Promise.all(workers.map((w) => w.terminate()));
    }
    if (failure !== null) throw failure;
    return out;
  }

  /** Stops every thread (running tasks are abandoned; their promises reject). */
  async close(): Promise<void> {
    if (PROFILE && !this.closed) this.printProfile();
    this.closed = true;
    const err = new Error('the worker pool was closed');
    for (const p of this.queue.splice(0)) p.reject(err);
    await Promise.all(
      this.slots.splice(0).map((s) => {
        s.busy?.reject(err);
        s.busy = null;
        // Referenced until it has exited: an unreferenced thread whose terminate() is pending lets the
        // process exit with that promise unsettled (exit code 13), which a result arriving just now (its
        // handler unreferences an idle thread) would otherwise do.
        s.worker.ref();
        return s.worker.terminate();
      }),
    );
  }

  private printProfile(): void {
    const end = nowMs();
    const f = (x: number) => `${Math.round(x)} ms`;
    const lines = [
      `pool profile: ${this.jobs} job(s), ${f(end - this.createdAt)} from the pool's creation to close`,
    ];
    if (this.inlineTasks > 0)
      lines.push(`  calling thread: ${this.inlineTasks} task(s), running ${f(this.inlineRunMs)}`);
    let last = 0;
    for (const p of this.profiles) last = Math.max(last, p.lastAt);
    for (const [i, p] of this.profiles.entries()) {
      lines.push(
        `  thread ${i + 1}: ${p.tasks} task(s); boot ${f(p.bootMs)}, module import ${f(p.importMs)}, running ${f(p.runMs)}, transfer ${f(p.transferMs)}, idle at the end ${f(last - p.lastAt)}`,
      );
    }
    process.stderr.write(`${lines.join('\n')}\n`);
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.busy === null);
      if (slot === undefined) {
        if (this.slots.length >= this.jobs) return;
        slot = this.spawn();
      }
      const p = this.queue.shift()!;
      slot.busy = p;
      // A busy thread keeps the process alive (a pending promise alone does not).
      slot.worker.ref();
      if (PROFILE) slot.postedAt = nowMs();
      slot.worker.postMessage({ module: p.task.module, fn: p.task.fn, arg: p.arg });
    }
  }

  private spawn(): Slot {
    const worker = new Worker(bootstrap(), { eval: true });
    // An idle pool must not keep the process alive; a busy thread is kept alive by its pending promise.
    worker.unref();
    const slot: Slot = {
      worker,
      busy: null,
      spawnedAt: nowMs(),
      postedAt: 0,
      prof: { tasks: 0, bootMs: 0, importMs: 0, runMs: 0, transferMs: 0, lastAt: 0 },
    };
    if (PROFILE) this.profiles.push(slot.prof);
    worker.on(
      'message',
      (
        m:
          | { ok: true; result: unknown; times?: { importMs: number; runMs: number; sentAt: number } }
          | { ok: false; failure: TaskFailure },
      ) => {
        if (PROFILE && m.ok && m.times !== undefined) {
          const at = nowMs();
          const pr = slot.prof;
          const t = m.times;
          const startedAt = t.sentAt - t.runMs - t.importMs;
          if (pr.tasks === 0) pr.bootMs = startedAt - slot.spawnedAt;
          else pr.transferMs += startedAt - slot.postedAt;
          pr.transferMs += at - t.sentAt;
          pr.importMs += t.importMs;
          pr.runMs += t.runMs;
          pr.tasks++;
          pr.lastAt = at;
        }
        const p = slot.busy;
        slot.busy = null;
        if (!this.closed) worker.unref();
        if (p !== null) {
          if (m.ok) p.resolve(m.result);
          else p.reject(revive(m.failure));
        }
        this.pump();
      },
    );
    const fail = (e: unknown) => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      const p = slot.busy;
      slot.busy = null;
      if (p !== null) p.reject(e instanceof Error ? e : new Error(String(e)));
      if (!this.closed) this.pump();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (slot.busy !== null) fail(new Error(`a pool worker thread exited (code ${code}) during a task`));
      else {
        const i = this.slots.indexOf(slot);
        if (i >= 0) this.slots.splice(i, 1);
      }
    });
    this.slots.push(slot);
    return slot;
  }
}

/** What a batch thread (mapWithCaller) sends: a task's result or failure, then `done`. */
type BatchMessage =
  | { kind: 'done' }
  | {
      kind: 'result';
      index: number;
      ok: true;
      result: unknown;
      times?: { importMs: number; runMs: number; sentAt: number };
    }
  | { kind: 'result'; index: number; ok: false; failure: TaskFailure; times?: undefined };

async function runInline(task: TaskRef, arg: unknown): Promise<unknown> {
  const mod = (await import(task.module)) as Record<string, (a: unknown) => unknown>;
  const f = mod[task.fn];
  if (typeof f !== 'function') throw new Error(`${task.module}: no exported function ${task.fn}`);
  // The same copy a thread would get, so an inline task cannot share state with its caller either.
  return await f(structuredClone(arg));
}
