// s390 counterexamples saved by `kvmsim explore --save` and re-run by `kvmsim replay`: the same envelope as
// x86 (src/explore/saved_counterexample.ts) with the s390 property names and kind 'invariant' (every s390
// property is a state invariant). A replay runs the step ids on a fresh world of the embedded scenario,
// checking that each is enabled, and then checks the saved property on the last state.
import { PROPERTIES, type PropertyName, splitViolation } from '../../s390/invariants.ts';
import type { S390World } from '../../s390/world.ts';
import { ScenarioError } from '../../scenario/scenario_error.ts';
import {
  jsonSafeScenario,
  SAVED_FORMAT,
  SAVED_VERSION,
  type SavedCounterexampleEnvelope,
} from '../saved_counterexample.ts';
import type { Trace } from '../search_types.ts';
import { renderTrace } from '../trace.ts';
import { type ExploreOutcome, exploreModel, parseS390Explore } from './scenario.ts';

export interface S390SavedCounterexample extends SavedCounterexampleEnvelope {
  readonly property: PropertyName;
  readonly kind: 'invariant';
}

/** The saved form of an explore outcome's counterexample, or null when it has none. */
export function saveS390Counterexample(
  rawScenario: unknown,
  o: ExploreOutcome,
): S390SavedCounterexample | null {
  if (!o.stepIds || !o.labels || !o.propertyName) return null;
  const labels = o.labels;
  return {
    format: SAVED_FORMAT,
    version: SAVED_VERSION,
    scenario: jsonSafeScenario(rawScenario),
    property: o.propertyName,
    kind: 'invariant',
    ...(o.detail ? { detail: o.detail } : {}),
    steps: o.stepIds.map((id, k) => ({ id, label: labels[k] ?? '' })),
    loop: [],
  };
}

/** Checks the s390-specific fields of a saved counterexample (the envelope is checked by the caller). */
export function checkS390Saved(file: string, d: Record<string, unknown>): S390SavedCounterexample {
  if (!PROPERTIES.includes(d.property as PropertyName))
    throw new ScenarioError(file, 'property', `expected one of ${PROPERTIES.join(', ')} (an s390 scenario)`);
  if (d.kind !== 'invariant')
    throw new ScenarioError(file, 'kind', 'expected "invariant" (an s390 scenario)');
  for (const key of ['steps', 'loop'] as const) {
    const list = d[key];
    if (!Array.isArray(list) || !list.every((s) => Number.isInteger(s?.id) && s.id >= 0))
      throw new ScenarioError(file, key, 'expected a list of {id, label} with integer step ids');
  }
  if ((d.loop as unknown[]).length > 0)
    throw new ScenarioError(file, 'loop', 'expected [] (s390 counterexamples have no loop)');
  return d as unknown as S390SavedCounterexample;
}

export interface S390Replay {
  readonly name: string;
  /** The steps run (all of them unless the replay diverged), with the states they went through. */
  readonly trace: Trace<S390World>;
  /** The saved property's violation on the last state, or null. */
  readonly violation: string | null;
  readonly reproduced: boolean;
  /** Why the replay stopped early (a step not enabled), or null. */
  readonly diverged: string | null;
  /** Whether some step's label differs from the saved one (the model changed its wording). */
  readonly relabelled: boolean;
  /** The steps, rendered as `kvmsim explore` prints a counterexample. */
  readonly rendered: string;
}

export function replayS390(file: string, saved: S390SavedCounterexample): S390Replay {
  const scenario = parseS390Explore(saved.scenario, `${file} (scenario)`);
  const model = exploreModel(scenario, [saved.property]);
  const s = model.initial();
  const states: S390World[] = [model.initial()];
  const steps: number[] = [];
  const labels: string[] = [];
  const enabled = new Int32Array(Math.max(1, model.stepCount));
  let diverged: string | null = null;
  for (const { id } of saved.steps) {
    const n = model.enabled(s, enabled);
    let ok = false;
    for (let k = 0; k < n; k++) if (enabled[k] === id) ok = true;
    const label = id < model.stepCount ? model.stepLabel(id, s) : `id ${id}`;
    if (!ok) {
      diverged = `step ${steps.length + 1} (${label}) is not enabled`;
      break;
    }
    const bad = model.apply(s, id);
    if (bad !== null) {
      diverged = `step ${steps.length + 1} (${label}): ${bad}`;
      break;
    }
    steps.push(id);
    labels.push(label);
    const copy = model.initial();
    model.copy(s, copy);
    states.push(copy);
  }
  const violation = diverged === null ? model.invariant(s) : null;
  const reproduced = violation !== null && splitViolation(violation)?.property === saved.property;
  const trace: Trace<S390World> = { steps, labels, states };
  return {
    name: scenario.name ?? model.name,
    trace,
    violation,
    reproduced,
    diverged,
    relabelled: labels.some((l, k) => l !== saved.steps[k]?.label),
    rendered: renderTrace(model, trace),
  };
}
