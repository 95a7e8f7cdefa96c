// The worker pool (src/pool/pool.ts): `map` with the calling thread as one lane and the others threads
// claiming tasks from a shared counter gives the serial results in order, runs every task exactly once,
// and a task's failure, in a thread or in the calling thread, rejects with the same error class (a
// ScenarioError still exits 2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkerPool } from '../../src/pool/pool.ts';
import { ScenarioError } from '../../src/scenario/scenario_error.ts';

const TASK = { module: new URL('./fixture_task.ts', import.meta.url).href, fn: 'square' };
const args = Array.from({ length: 24 }, (_, v) => ({ v }));

test('map: the calling thread plus threads equals the serial run, each task once', async () => {
  const serial = new WorkerPool(1, { threads: false });
  const want = await serial.map<{ v: number }, number>(TASK, args);
  await serial.close();
  assert.deepEqual(
    want,
    args.map(({ v }) => v * v),
  );
  for (const jobs of [2, 3]) {
    const pool = new WorkerPool(jobs, { threads: false });
    const seen: number[] = [];
    const got = await pool.map<{ v: number }, number>(TASK, args, (i) => seen.push(i));
    await pool.close();
    assert.deepEqual(got, want, `jobs ${jobs}`);
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      args.map((_, i) => i),
      'onResult once per task',
    );
  }
  // The old way (every task on a thread) still works.
  const threadsOnly = new WorkerPool(2, { callerRuns: false });
  assert.deepEqual(await threadsOnly.map<{ v: number }, number>(TASK, args), want);
  await threadsOnly.close();
});

test('map: a failing task rejects with its own error class, wherever it ran', async () => {
  // Task 0 is always the calling thread's first; a late one usually a thread's.
  for (const failOn of [0, 17]) {
    const pool = new WorkerPool(2, { threads: false });
    await assert.rejects(
      pool.map(
        TASK,
        args.map(({ v }) => ({ v, failOn })),
      ),
      (e: unknown) => e instanceof ScenarioError && /values\[/.test((e as Error).message),
    );
    await pool.close();
  }
});
