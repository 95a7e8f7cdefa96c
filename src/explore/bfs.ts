import type { Model } from './model.ts';
import type { SearchOptions, SearchResult } from './search_types.ts';
import { STORE_FULL, StateStore } from './state_store.ts';
import { buildTrace } from './trace.ts';
import { VisitedSet } from './visited_set.ts';

/**
 * Breadth-first search: the first failure it reports is at the least depth, so its counterexample is a
 * shortest one.
 *
 * States are numbered in discovery order and stored contiguously in the visited set's arena, so the BFS
 * queue is the arena itself: expanding state i means decoding arena slot i, and the queue is
 * [i, size). Depth is tracked by level boundaries, not per state.
 *
 * Checks happen when a state is expanded (invariant, then end state if it has no enabled step), in BFS
 * order, so a failure at depth d is reported before any at depth d + 1, whatever its kind. Assertions
 * inside a step (`apply` returning a name) are reported as soon as the step runs.
 *
 * Per transition the hot loop allocates nothing: copy the expanded state into a scratch state, apply the
 * step, encode into a reusable buffer, probe the table. A model with `restore` is stepped in place
 * instead: one working state is restored to the expanded state before each step (and to the next
 * expanded state), which costs only the parts that differ.
 */
export function bfs<S>(model: Model<S>, options: SearchOptions): SearchResult<S> {
  const words = model.stateWords;
  const store = new StateStore(words, model.stepCount, options, model.components);
  const set = store.set;
  const arena = set instanceof VisitedSet ? set : null;
  const buf = new Int32Array(words);
  const cur = new Int32Array(words);
  const steps = new Int32Array(Math.max(1, model.stepCount));
  const base = model.initial();
  const restore = model.restore?.bind(model);
  const scratch = restore === undefined ? model.initial() : base;
  const progressEvery = options.progressEvery ?? 0x10000;
  const onProgress = options.onProgress;
  const keep = options.traceStates ?? 'all';

  let transitions = 0;
  let depth = 0;
  let maxDepth = 0;
  let levelEnd = 1;
  model.encode(base, buf);
  store.add(buf, -1, 0);

  for (let i = 0; i < set.size; i++) {
    if (i === levelEnd) {
      depth++;
      levelEnd = set.size;
    }
    // The expanded state's words: in place in the arena when its chunks hold them (they never move).
    let src: Int32Array = cur;
    let at = 0;
    if (arena !== null) {
      src = arena.chunkOf(i);
      at = arena.offsetOf(i);
    } else set.read(i, cur);
    if (restore !== undefined) restore(base, src, at);
    else model.decode(src, at, base);
    const bad = model.invariant(base);
    if (bad !== null) {
      const stats = store.stats(transitions, i, maxDepth);
      return { kind: 'violation', property: bad, trace: buildTrace(model, store, i, undefined, keep), stats };
    }
    const n = model.enabled(base, steps);
    if (n === 0) {
      const end = model.endState(base);
      if (end !== null) {
        const stats = store.stats(transitions, i, maxDepth);
        return {
          kind: 'invalid-end',
          property: end,
          trace: buildTrace(model, store, i, undefined, keep),
          stats,
        };
      }
    }
    for (let k = 0; k < n; k++) {
      const step = steps[k];
      let next = base;
      if (restore === undefined) {
        next = scratch;
        model.copy(base, next);
      } else if (k > 0) restore(base, src, at);
      const failed = model.apply(next, step);
      transitions++;
      if (failed !== null) {
        const stats = store.stats(transitions, i + 1, maxDepth);
        return {
          kind: 'violation',
          property: failed,
          trace: buildTrace(model, store, i, { step, state: next }, keep),
          stats,
        };
      }
      model.encode(next, buf);
      const r = store.add(buf, i, step);
      if (r >= 0) {
        if (depth >= maxDepth) maxDepth = depth + 1;
      } else if (r === STORE_FULL) {
        return {
          kind: 'budget',
          reason: store.stopReason ?? 'maxStates',
          stats: store.stats(transitions, i, maxDepth),
        };
      }
    }
    if (onProgress !== undefined && (i + 1) % progressEvery === 0) {
      if (onProgress(store.stats(transitions, i + 1, maxDepth)) === 'stop') {
        return { kind: 'budget', reason: 'stopped', stats: store.stats(transitions, i + 1, maxDepth) };
      }
    }
  }
  return { kind: 'ok', stats: store.stats(transitions, set.size, maxDepth) };
}
