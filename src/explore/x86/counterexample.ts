// Counterexamples: replayed step by step on a fresh world (no reductions, so every state is the real
// one, not an orbit representative), rendered as a numbered step list with the fields each step changed
// and what the host and the guest reported during it, and saved/loaded as JSON for `kvmsim replay`.
import { variantNotes } from '../../host/x86/kernel_fns.ts';
import { diffStates } from '../trace.ts';
import { endViolation, invariantViolation, variantViolation } from './checks.ts';
import type { ExploreWorldConfig } from './config.ts';
import { type X86Model, type X86State, x86ExploreModel } from './model.ts';
import type { CheckedProperty, PropertyName } from './properties.ts';
import type { Counterexample } from './run.ts';

export interface ReplayedStep {
  readonly id: number;
  readonly label: string;
  readonly changes: readonly { field: string; before: string; after: string }[];
  /** Host tracepoints, WARNs, guest events during the step. */
  readonly events: readonly string[];
  /** A step check that failed in this step, if any. */
  readonly stepViolation: string | null;
}

export interface Replay {
  readonly initial: Readonly<Record<string, string | number | boolean>>;
  readonly steps: readonly ReplayedStep[];
  /** Index in `steps` where the loop starts (liveness), or -1. */
  readonly loopStart: number;
  /** Whether the recorded property fails at the end, as recorded. */
  readonly reproduced: boolean;
  /** Why the replay stopped early (a step not enabled), or null. */
  readonly diverged: string | null;
}

export function replay(cfg: ExploreWorldConfig, cx: Counterexample, model?: X86Model): Replay {
  const m = model ?? x86ExploreModel(cfg, { symmetry: false, por: false });
  const s: X86State = m.initial();
  const before = m.initial();
  const enabled = new Int32Array(Math.max(1, m.stepCount));
  const initial = m.describe(s);
  const out: ReplayedStep[] = [];
  const all = [...cx.steps, ...cx.loop];
  let stepViolation: string | null = null;
  for (const id of all) {
    const n = m.enabled(s, enabled);
    let ok = false;
    for (let k = 0; k < n; k++) if (enabled[k] === id) ok = true;
    if (!ok)
      return {
        initial,
        steps: out,
        loopStart: -1,
        reproduced: false,
        diverged: `step ${out.length + 1} (id ${id}) is not enabled`,
      };
    m.copy(s, before);
    const label = m.stepLabel(id, s);
    const events: string[] = [];
    s.world.log.events = events;
    s.world.obs.events = events;
    const variantCalls: string[] = [];
    variantNotes.into = variantCalls;
    try {
      stepViolation = m.apply(s, id);
    } finally {
      variantNotes.into = null;
    }
    events.push(...variantCalls);
    s.world.log.events = null;
    s.world.obs.events = null;
    out.push({ id, label, changes: diffStates(m, before, s), events, stepViolation });
  }
  const checks = m.checks;
  const last = s.world;
  let reproduced: boolean;
  switch (cx.kind) {
    case 'step':
      reproduced = stepViolation === cx.property;
      break;
    case 'invariant':
      reproduced = cx.property.startsWith('variant:')
        ? variantViolation(last) === cx.property
        : invariantViolation(last, new Set([cx.property as PropertyName])) === cx.property;
      break;
    case 'end':
      reproduced = m.enabled(s, enabled) === 0 && endViolation(last, checks) === cx.property;
      break;
    default:
      // A lasso: the loop must come back to where it started (checked by encoding).
      reproduced = true;
  }
  if (cx.kind === 'liveness' && cx.loop.length > 0) {
    const again = x86ExploreModel(cfg, { symmetry: false, por: false });
    const a = again.initial();
    const words = new Int32Array(again.stateWords);
    const words2 = new Int32Array(again.stateWords);
    for (const id of cx.steps) again.apply(a, id);
    again.encodeRaw(a, words);
    for (const id of cx.loop) again.apply(a, id);
    again.encodeRaw(a, words2);
    reproduced = words.every((x, i) => x === words2[i]);
  }
  return {
    initial,
    steps: out,
    loopStart: cx.loop.length > 0 ? cx.steps.length : -1,
    reproduced,
    diverged: null,
  };
}

/** The numbered step list with per-step diffs (the initial state in full first). */
export function renderReplay(r: Replay, header: string): string {
  const lines: string[] = [header, 'initial state:'];
  for (const [k, v] of Object.entries(r.initial)) lines.push(`  ${k}: ${String(v)}`);
  const width = String(r.steps.length).length;
  r.steps.forEach((st, k) => {
    if (k === r.loopStart) lines.push('-- the loop below repeats for ever --');
    lines.push(`${String(k + 1).padStart(width)}. ${st.label}`);
    const pad = ' '.repeat(width + 2);
    for (const e of st.events) lines.push(`${pad}| ${e}`);
    for (const c of st.changes) lines.push(`${pad}${c.field}: ${c.before} -> ${c.after}`);
    if (st.changes.length === 0) lines.push(`${pad}(no change)`);
    if (st.stepViolation) lines.push(`${pad}!! ${st.stepViolation}`);
  });
  if (r.loopStart >= 0) lines.push(`-- back to the state before step ${r.loopStart + 1} --`);
  if (r.diverged) lines.push(`replay diverged: ${r.diverged}`);
  return lines.join('\n');
}

/** The saved form of a counterexample: the scenario it came from (as read) and the steps. */
export interface SavedCounterexample {
  readonly format: 'kvmsim-explore-counterexample';
  readonly version: 1;
  /** The scenario file's content as read (integers as decimal strings where they exceed 2^53). */
  readonly scenario: unknown;
  readonly property: CheckedProperty;
  readonly kind: Counterexample['kind'];
  readonly detail?: string;
  readonly steps: readonly { readonly id: number; readonly label: string }[];
  readonly loop: readonly { readonly id: number; readonly label: string }[];
}

/** JSON-safe copy of parsed YAML (bigints become strings the schema accepts). */
export function jsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : `0x${v.toString(16)}`;
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, jsonSafe(x)]));
  return v;
}

export function saveCounterexample(scenario: unknown, r: Replay, cx: Counterexample): SavedCounterexample {
  const labelled = (ids: readonly number[], from: number) =>
    ids.map((id, k) => ({ id, label: r.steps[from + k]?.label ?? '' }));
  return {
    format: 'kvmsim-explore-counterexample',
    version: 1,
    scenario: jsonSafe(scenario),
    property: cx.property,
    kind: cx.kind,
    ...(cx.detail ? { detail: cx.detail } : {}),
    steps: labelled(cx.steps, 0),
    loop: labelled(cx.loop, cx.steps.length),
  };
}
