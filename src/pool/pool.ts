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
}

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

  /** `jobs` threads; with `threads: false` and one job, tasks run inline in the calling thread. */
  constructor(jobs: number = defaultJobs(), opts: { threads?: boolean } = {}) {
    this.jobs = Math.max(1, Math.floor(jobs));
    this.inline = this.jobs === 1 && opts.threads === false;
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
        out[i] = (await runInline(task, args[i])) as R;
        onResult?.(i, out[i]!);
      }
      return out;
    }
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

  /** Stops every thread (running tasks are abandoned; their promises reject). */
  async close(): Promise<void> {
    this.closed = true;
    const err = new Error('the worker pool was closed');
    for (const p of this.queue.splice(0)) p.reject(err);
    await Promise.all(
      this.slots.splice(0).map((s) => {
        s.busy?.reject(err);
        s.busy = null;
        return s.worker.terminate();
      }),
    );
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
      slot.worker.postMessage({ module: p.task.module, fn: p.task.fn, arg: p.arg });
    }
  }

  private spawn(): Slot {
    const worker = new Worker(bootstrap(), { eval: true });
    // An idle pool must not keep the process alive; a busy thread is kept alive by its pending promise.
    worker.unref();
    const slot: Slot = { worker, busy: null };
    worker.on('message', (m: { ok: true; result: unknown } | { ok: false; failure: TaskFailure }) => {
      const p = slot.busy;
      slot.busy = null;
      worker.unref();
      if (p !== null) {
        if (m.ok) p.resolve(m.result);
        else p.reject(revive(m.failure));
      }
      this.pump();
    });
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

async function runInline(task: TaskRef, arg: unknown): Promise<unknown> {
  const mod = (await import(task.module)) as Record<string, (a: unknown) => unknown>;
  const f = mod[task.fn];
  if (typeof f !== 'function') throw new Error(`${task.module}: no exported function ${task.fn}`);
  // The same copy a thread would get, so an inline task cannot share state with its caller either.
  return await f(structuredClone(arg));
}
