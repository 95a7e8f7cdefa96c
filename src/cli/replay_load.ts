// Reading a counterexample saved by `kvmsim explore --save` and re-running it on the model: the part of
// `kvmsim replay` the library's `replay` (src/index.ts) shares. The command adds the output files.

import type { ExploreWorldConfig } from '../explore/x86/config.ts';
import { type Replay, replay, type SavedCounterexample } from '../explore/x86/counterexample.ts';
import { PROPERTY_NAMES } from '../explore/x86/properties.ts';
import type { Counterexample } from '../explore/x86/run.ts';
import { parseExplore } from '../explore/x86/scenario.ts';
import { readInputText } from '../scenario/load.ts';
import { ScenarioError } from '../scenario/scenario_error.ts';

const KINDS = ['invariant', 'step', 'end', 'liveness'];

/** Reads and checks a saved counterexample; bad input is a ScenarioError naming the file and field. */
export function readSavedCounterexample(file: string): SavedCounterexample {
  return checkSavedCounterexample(readSavedEnvelope(file), file);
}

/**
 * Reads a saved counterexample's JSON and checks its envelope (format, version) only: the arch-specific
 * fields are checked by checkSavedCounterexample (x86) or the s390 replay (its scenario says arch: s390).
 */
export function readSavedEnvelope(file: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(readInputText(file));
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    throw new ScenarioError(
      file,
      '',
      `cannot read a JSON counterexample (${(e as Error).message.split('\n')[0]})`,
    );
  }
  checkEnvelope(data, file);
  return data as Record<string, unknown>;
}

function checkEnvelope(data: unknown, file: string): void {
  const d = data as Partial<SavedCounterexample>;
  if (d === null || typeof d !== 'object' || d.format !== 'kvmsim-explore-counterexample' || d.version !== 1)
    throw new ScenarioError(
      file,
      'format',
      'expected "kvmsim-explore-counterexample" version 1 (written by kvmsim explore --save)',
    );
}

/** Checks parsed data as a saved x86 counterexample (`file` names it in messages). */
export function checkSavedCounterexample(data: unknown, file: string): SavedCounterexample {
  checkEnvelope(data, file);
  const d = data as Partial<SavedCounterexample>;
  if (!PROPERTY_NAMES.includes(d.property as never))
    throw new ScenarioError(file, 'property', `expected one of ${PROPERTY_NAMES.join(', ')}`);
  if (!KINDS.includes(d.kind as string))
    throw new ScenarioError(file, 'kind', `expected one of ${KINDS.join(', ')}`);
  for (const key of ['steps', 'loop'] as const) {
    const list = d[key];
    if (!Array.isArray(list) || !list.every((s) => Number.isInteger(s?.id) && s.id >= 0))
      throw new ScenarioError(file, key, 'expected a list of {id, label} with integer step ids');
  }
  return d as SavedCounterexample;
}

/** A saved counterexample's scenario, validated, and its steps. */
export interface PreparedReplay {
  readonly config: ExploreWorldConfig;
  readonly counterexample: Counterexample;
}

export function prepareReplay(saved: SavedCounterexample, file: string): PreparedReplay {
  const { config } = parseExplore(saved.scenario, `${file} (scenario)`);
  const counterexample: Counterexample = {
    property: saved.property,
    kind: saved.kind,
    steps: saved.steps.map((s) => s.id),
    loop: saved.loop.map((s) => s.id),
    ...(saved.detail ? { detail: saved.detail } : {}),
  };
  return { config, counterexample };
}

export interface ReplayOutcome {
  readonly replay: Replay;
  /** The first line of the printed replay: the scenario's name, the property, the number of steps. */
  readonly header: string;
  /** The last line: reproduced or not. */
  readonly verdict: string;
  readonly reproduced: boolean;
}

/**
 * Re-runs the steps. A step that is not enabled (an unknown id, or the model changed since the save) is
 * bad input: a ScenarioError naming the step.
 */
export function runReplay(saved: SavedCounterexample, p: PreparedReplay, file: string): ReplayOutcome {
  const cx = p.counterexample;
  const r = replay(p.config, cx);
  if (r.diverged) {
    const k = r.steps.length;
    const field = k < cx.steps.length ? `steps[${k}].id` : `loop[${k - cx.steps.length}].id`;
    throw new ScenarioError(
      file,
      field,
      `the replay diverged: ${r.diverged} (an unknown step id, or the model changed since the save); after ${k} step${k === 1 ? '' : 's'} of ${cx.steps.length + cx.loop.length}`,
    );
  }
  const name = (saved.scenario as { name?: string } | null)?.name ?? file;
  const header = `${name}: replay of a counterexample for ${cx.property}, ${cx.steps.length + cx.loop.length} steps`;
  const relabelled = r.steps.some((s, k) => s.label !== [...saved.steps, ...saved.loop][k]?.label);
  const verdict = r.reproduced
    ? `reproduced: ${cx.property} fails${relabelled ? ' (some step labels differ from the saved ones)' : ''}`
    : `not reproduced: the steps run but ${cx.property} no longer fails`;
  return { replay: r, header, verdict, reproduced: r.reproduced };
}
