import type { Model } from './model.ts';
import type { SearchOptions, SearchResult } from './search_types.ts';
import { STORE_FULL, StateStore } from './state_store.ts';
import { buildTrace } from './trace.ts';

/**
 * Depth-first search with an explicit stack. It reaches deep states early, and it cross-checks BFS (both
 * must store the same states). Its counterexamples are valid paths, but not shortest ones.
 *
 * The stack is typed arrays too: per frame the state index and a cursor into a flat array of pending
 * step ids (the frame's enabled steps, pushed once when the state is first reached). Each state is
 * checked (invariant, end state) when it is first stored, i.e. when it is pushed. The state on top of the
 * stack stays decoded in a scratch state, so it is re-decoded from the arena only after a pop.
 *
 * The parent links record the DFS tree, so a trace is the stack's path.
 */
export function dfs<S>(model: Model<S>, options: SearchOptions): SearchResult<S> {
  const words = model.stateWords;
  const stepCount = Math.max(1, model.stepCount);
  const store = new StateStore(words, model.stepCount, options, model.components);
  const set = store.set;
  const buf = new Int32Array(words);
  const cur = new Int32Array(words);
  const enabledBuf = new Int32Array(stepCount);
  let base = model.initial();
  let next = model.initial();
  let baseIndex = 0;
  const progressEvery = options.progressEvery ?? 0x10000;
  const onProgress = options.onProgress;
  const keep = options.traceStates ?? 'all';

  // Frame f: state frameState[f]; its unexplored steps are steps[frameCursor[f] .. frameEnd[f]).
  let frameState = new Int32Array(64);
  let frameCursor = new Int32Array(64);
  let frameEnd = new Int32Array(64);
  let steps = new Int32Array(64 * stepCount);
  const stackBytes = () => frameState.byteLength * 3 + steps.byteLength;
  store.extraBytes = stackBytes();

  let transitions = 0;
  let expanded = 0;
  let maxDepth = 0;
  let top = -1;
  const stats = () => store.stats(transitions, expanded, maxDepth);

  /** Checks the state in `s` (index `index`) and pushes its frame; returns a failure result or null. */
  const push = (index: number, s: S): SearchResult<S> | null => {
    const bad = model.invariant(s);
    if (bad !== null)
      return {
        kind: 'violation',
        property: bad,
        trace: buildTrace(model, store, index, undefined, keep),
        stats: stats(),
      };
    const start = top < 0 ? 0 : frameEnd[top];
    if (top + 1 === frameState.length || start + stepCount > steps.length) {
      const grownBytes = stackBytes();
      if (!store.fits(grownBytes)) {
        store.stopReason = 'maxMemBytes';
        return { kind: 'budget', reason: 'maxMemBytes', stats: stats() };
      }
      frameState = grown(frameState, frameState.length * 2);
      frameCursor = grown(frameCursor, frameCursor.length * 2);
      frameEnd = grown(frameEnd, frameEnd.length * 2);
      steps = grown(steps, steps.length * 2);
      store.extraBytes = stackBytes();
    }
    const n = model.enabled(s, enabledBuf);
    for (let k = 0; k < n; k++) steps[start + k] = enabledBuf[k];
    expanded++;
    if (n === 0) {
      const end = model.endState(s);
      if (end !== null)
        return {
          kind: 'invalid-end',
          property: end,
          trace: buildTrace(model, store, index, undefined, keep),
          stats: stats(),
        };
    }
    top++;
    frameState[top] = index;
    frameCursor[top] = start;
    frameEnd[top] = start + n;
    if (top > maxDepth) maxDepth = top;
    return null;
  };

  model.encode(base, buf);
  store.add(buf, -1, 0);
  const first = push(0, base);
  if (first !== null) return first;

  while (top >= 0) {
    const cursor = frameCursor[top];
    if (cursor === frameEnd[top]) {
      top--;
      continue;
    }
    frameCursor[top] = cursor + 1;
    const step = steps[cursor];
    const index = frameState[top];
    if (baseIndex !== index) {
      set.read(index, cur);
      model.decode(cur, 0, base);
      baseIndex = index;
    }
    model.copy(base, next);
    const failed = model.apply(next, step);
    transitions++;
    if (failed !== null) {
      return {
        kind: 'violation',
        property: failed,
        trace: buildTrace(model, store, index, { step, state: next }, keep),
        stats: stats(),
      };
    }
    model.encode(next, buf);
    const r = store.add(buf, index, step);
    if (r === STORE_FULL) return { kind: 'budget', reason: store.stopReason ?? 'maxStates', stats: stats() };
    if (r < 0) continue;
    const failure = push(r, next);
    if (failure !== null) return failure;
    // The new top's state is in `next`: keep it decoded as the base.
    const t = base;
    base = next;
    next = t;
    baseIndex = r;
    if (onProgress !== undefined && expanded % progressEvery === 0 && onProgress(stats()) === 'stop') {
      return { kind: 'budget', reason: 'stopped', stats: stats() };
    }
  }
  return { kind: 'ok', stats: stats() };
}

function grown(a: Int32Array, length: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(length);
  b.set(a);
  return b;
}
