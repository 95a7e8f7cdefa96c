// A swarm of x86 searches on the worker pool (src/pool/pool.ts): searches 0 .. N-1 (src/explore/swarm.ts), at most
// `jobs` at a time, started in index order. The verdict is that of the lowest-numbered search that finds a
// violation within its budget, never the first to finish in wall-clock time: once search k has found one,
// no search above k is started and the running ones are abandoned, but every search below k is waited
// for. So the outcome (and the output) is the same for any --jobs and any scheduling.
import { WorkerPool } from '../../pool/pool.ts';
import { StateSketch } from '../swarm.ts';
import type { Counterexample } from './run.ts';
import { runSwarmSearch, SWARM_TASK, type SwarmJob, type SwarmSearchResult } from './swarm_task.ts';

export interface SwarmOptions extends Omit<SwarmJob, 'index'> {
  readonly searches: number;
  readonly jobs: number;
}

export interface SwarmOutcome {
  readonly verdict: 'ok' | 'counterexample' | 'budget';
  /** The searches that decide the outcome, in index order: 0 .. k for a violation in search k, else all. */
  readonly searches: readonly SwarmSearchResult[];
  /** The search that found the counterexample. */
  readonly found?: SwarmSearchResult & { readonly counterexample: Counterexample };
  /** The distinct states the searches above reached together (HyperLogLog estimate, swarm.ts). */
  readonly unionEstimate: number;
}

export async function runSwarm(o: SwarmOptions): Promise<SwarmOutcome> {
  const n = o.searches;
  const pool = new WorkerPool(Math.min(o.jobs, n), { threads: o.jobs > 1 });
  const results: (SwarmSearchResult | undefined)[] = new Array(n);
  let best = n; // the lowest index with a counterexample so far (n: none)
  let next = 0;
  const { searches: _s, jobs: _j, ...job } = o;
  try {
    await new Promise<void>((resolve, reject) => {
      let running = 0;
      let failed = false;
      const settled = () => {
        for (let i = 0; i < best; i++) if (results[i] === undefined) return false;
        return true;
      };
      const record = (index: number, r: SwarmSearchResult) => {
        results[index] = r;
        if (r.verdict === 'counterexample' && index < best) best = index;
      };
      const launch = () => {
        while (!failed && running < pool.jobs && next < best) {
          const index = next++;
          running++;
          pool.run<SwarmSearchResult>(SWARM_TASK, { ...job, index } satisfies SwarmJob).then(
            (r) => {
              running--;
              record(index, r);
              if (settled()) resolve();
              else launch();
            },
            (e) => {
              running--;
              // A search above the verdict's was abandoned when the pool closed: not an error.
              if (index < best && !failed) {
                failed = true;
                reject(e);
              }
            },
          );
        }
      };
      if (pool.jobs > 1 && n > 1) {
        // Search 0 runs here, in the calling thread, which has the model loaded: it starts at once while
        // the threads start on searches 1 .. jobs-1 (posted first, so they boot meanwhile). Every other
        // search needs search 0's result anyway (the lowest-numbered violation decides), so nothing waits
        // for this thread that would not have waited for search 0 on a thread. Then the threads go on.
        next = 1;
        running++;
        launch();
        try {
          // The copy a thread would get, so the search shares nothing with its caller.
          record(0, runSwarmSearch(structuredClone({ ...job, index: 0 })));
        } catch (e) {
          failed = true;
          reject(e);
          return;
        } finally {
          running--;
        }
        if (settled()) resolve();
        else launch();
      } else launch();
    });
  } finally {
    await pool.close();
  }
  const decided = results.slice(0, best === n ? n : best + 1) as SwarmSearchResult[];
  const union = new StateSketch();
  for (const r of decided) union.merge(r.sketch);
  const found = best < n ? results[best] : undefined;
  return {
    verdict: found ? 'counterexample' : decided.some((r) => r.verdict === 'budget') ? 'budget' : 'ok',
    searches: decided,
    ...(found ? { found: found as SwarmOutcome['found'] & object } : {}),
    unionEstimate: union.estimate(),
  };
}
