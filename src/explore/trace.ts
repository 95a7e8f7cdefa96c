import type { Model } from './model.ts';
import type { Trace } from './search_types.ts';
import type { StateStore } from './state_store.ts';

/**
 * Rebuilds the path from the initial state to stored state `index` by following parent links, decoding
 * each state into a fresh model object. `last`, if given, is one more step applied to the state at
 * `index` and the state it produced (an assertion failed inside that step, so the state was not stored).
 *
 * `keep: 'last'` (SearchOptions.traceStates) decodes the path through two reused scratch states instead:
 * the steps and labels are the same, the final state is its own object, and the earlier entries of
 * `states` are those scratch objects (so the trace cannot be rendered). For models whose states are
 * costly to create (a whole VM) and callers that need only the steps and the final state.
 */
export function buildTrace<S>(
  model: Model<S>,
  store: StateStore,
  index: number,
  last?: { readonly step: number; readonly state: S },
  keep: 'all' | 'last' = 'all',
): Trace<S> {
  const path = store.links.pathTo(index);
  const states: S[] = [];
  const steps: number[] = [];
  const labels: string[] = [];
  const words = new Int32Array(store.set.words);
  const scratch = keep === 'last' ? [model.initial(), model.initial()] : null;
  for (let k = 0; k < path.length; k++) {
    const i = path[k]!;
    const final = k === path.length - 1 && last === undefined;
    const s = scratch === null || final ? model.initial() : scratch[k % 2]!;
    store.set.read(i, words);
    model.decode(words, 0, s);
    if (states.length > 0) {
      const step = store.links.step[i];
      steps.push(step);
      labels.push(model.stepLabel(step, states[states.length - 1] as S));
    }
    states.push(s);
  }
  if (last !== undefined) {
    const after = model.initial();
    model.copy(last.state, after);
    steps.push(last.step);
    labels.push(model.stepLabel(last.step, states[states.length - 1] as S));
    states.push(after);
  }
  return { steps, labels, states };
}

export interface FieldChange {
  readonly field: string;
  readonly before: string;
  readonly after: string;
}

/** The fields of the model's pretty-printer whose rendering differs between `a` and `b`. */
export function diffStates<S>(model: Model<S>, a: S, b: S): FieldChange[] {
  const da = model.describe(a);
  const db = model.describe(b);
  const changes: FieldChange[] = [];
  for (const field of Object.keys(db)) {
    const before = field in da ? String(da[field]) : '';
    const after = String(db[field]);
    if (before !== after) changes.push({ field, before, after });
  }
  for (const field of Object.keys(da)) {
    if (!(field in db)) changes.push({ field, before: String(da[field]), after: '' });
  }
  return changes;
}

/**
 * Renders a counterexample: the initial state in full, then a numbered list of steps, each followed by
 * the fields it changed (`field: before -> after`).
 */
export function renderTrace<S>(model: Model<S>, trace: Trace<S>): string {
  const lines: string[] = [];
  const init = trace.states[0];
  if (init === undefined) return '(empty trace)';
  const fields = Object.entries(model.describe(init)).map(([k, v]) => `${k}=${String(v)}`);
  lines.push(`initial state: ${fields.join(' ')}`);
  const width = String(trace.steps.length).length;
  for (let k = 0; k < trace.steps.length; k++) {
    const changes = diffStates(model, trace.states[k] as S, trace.states[k + 1] as S);
    lines.push(`${String(k + 1).padStart(width)}. ${trace.labels[k]}`);
    const diff = changes.map((c) => `${c.field}: ${c.before} -> ${c.after}`).join(', ');
    lines.push(`${' '.repeat(width + 2)}${diff === '' ? '(no change)' : diff}`);
  }
  return lines.join('\n');
}
