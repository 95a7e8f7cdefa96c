// The s390 side of the generic commands. `kvmsim script|run|explore FILE` read a scenario; when its top level
// says `arch: s390` they hand the file to one of these functions instead of the x86 loader:
//
//   kind: script  → runS390ScriptFile(file, { json, traceEvents })
//   kind: sim     → runS390Sim(file, { seed, json })        (kvmsim run)
//   kind: explore → exploreS390(file, { strategy, maxStates, maxMemBytes, json })   (kvmsim explore)
//
// Each returns the text to print and the exit code, and never writes to stdout itself, so a command only adds
// `process.stdout.write(r.text); process.exitCode = r.exitCode`. Bad input throws a ScenarioError (a
// UsageError: one line, exit 2), as the x86 loaders do. Exit codes follow the generic commands: run 0, or 1
// when an expected direction failed for some seed; explore 0 properties hold, 1 counterexample, 3 budget.

import {
  checkS390Saved,
  replayS390,
  type S390Replay,
  type S390SavedCounterexample,
  saveS390Counterexample,
} from '../explore/s390/counterexample.ts';
import {
  describeExpectation,
  type ExploreOutcome,
  parseS390Explore,
  runS390Explore,
} from '../explore/s390/scenario.ts';
import { readScenarioFile } from '../scenario/load.ts';
import { ScenarioError } from '../scenario/scenario_error.ts';
import { UsageError } from '../scenario/usage_error.ts';
import {
  parseS390Script,
  runS390Script,
  type TranscriptLine,
  transcriptHasFailures,
} from '../script/s390_runner.ts';
import { METRIC_NAMES, type MetricName } from '../sim/s390/metrics.ts';
import { formatSimReport } from '../sim/s390/report.ts';
import { runSimScenario, type SimReport } from '../sim/s390/run.ts';
import { parseS390Sim } from '../sim/s390/scenario.ts';
import { budgetName, exploreJsonLine } from './explore_json.ts';
import { type S390Kind, s390Kind } from './s390_kind.ts';

// s390Kind and s390FileKind live in s390_kind.ts (light: the commands call them before loading this module).
export { type S390Kind, s390FileKind, s390Kind } from './s390_kind.ts';

export interface CliResult<T> {
  readonly text: string;
  readonly exitCode: number;
  readonly result: T;
}

function expectKind(file: string, raw: unknown, kind: S390Kind): void {
  const got = s390Kind(raw);
  if (got !== kind)
    throw new ScenarioError(
      file,
      'kind',
      `expected an arch: s390, kind: ${kind} scenario${got ? `, got ${got}` : ''}`,
    );
}

/** `kvmsim script FILE` for `arch: s390`: the transcript as a table or JSON lines; exit 1 on a failed expect. */
export function runS390ScriptFile(
  file: string,
  opts: { json?: boolean; traceEvents?: boolean } = {},
): CliResult<TranscriptLine[]> {
  const raw = readScenarioFile(file);
  expectKind(file, raw, 'script');
  const lines = runS390Script(parseS390Script(raw, file), { traceEvents: opts.traceEvents });
  const text = opts.json
    ? lines.map((l) => `${JSON.stringify(l)}\n`).join('')
    : lines
        .map((l) => `${l.op !== undefined ? `${String(l.op).padStart(3)} ` : '      '}${JSON.stringify(l)}\n`)
        .join('');
  return { text, exitCode: transcriptHasFailures(lines) ? 1 : 0, result: lines };
}

/** `kvmsim run FILE` for `arch: s390`: every variant × seed (`seed` runs only that one), then the directions. */
export function runS390Sim(
  file: string,
  opts: { seed?: number; json?: boolean; metrics?: readonly MetricName[] } = {},
): CliResult<SimReport> {
  const raw = readScenarioFile(file);
  expectKind(file, raw, 'sim');
  const scenario = parseS390Sim(raw, file);
  const report = runSimScenario(scenario, opts.seed !== undefined ? { seeds: [opts.seed] } : {});
  const text = opts.json
    ? `${JSON.stringify(report, null, 2)}\n`
    : formatSimReport(report, opts.metrics ? { metrics: opts.metrics } : {});
  return { text, exitCode: report.ok ? 0 : 1, result: report };
}

/** Parses a comma-separated metric list (a `--metrics` flag); an unknown name is a UsageError (exit 2). */
export function parseMetricList(v: string): MetricName[] {
  const names = v.split(',').map((m) => m.trim());
  for (const m of names)
    if (!(METRIC_NAMES as readonly string[]).includes(m))
      throw new UsageError(
        `--metrics: unknown metric ${JSON.stringify(m)}; known: ${METRIC_NAMES.join(', ')}`,
      );
  return names as MetricName[];
}

export const EXPLORE_EXIT = { ok: 0, counterexample: 1, budget: 3 } as const;

/** `kvmsim explore FILE` for `arch: s390`: the search, its statistics, and the counterexample if any. */
export function exploreS390(
  file: string,
  opts: {
    strategy?: 'bfs' | 'dfs';
    maxStates?: number;
    maxMemBytes?: number;
    json?: boolean;
    /** Wall-clock time and states/s in the output (off by default: they differ from run to run). */
    timing?: boolean;
    shouldStop?: () => boolean;
  } = {},
): CliResult<ExploreOutcome & { millis?: number }> & { saved: S390SavedCounterexample | null } {
  const raw = readScenarioFile(file);
  expectKind(file, raw, 'explore');
  const scenario = parseS390Explore(raw, file);
  const t0 = performance.now();
  const outcome = runS390Explore(scenario, opts);
  const millis = performance.now() - t0;
  const result = opts.timing ? { ...outcome, millis: Math.round(millis) } : outcome;
  const exitCode =
    outcome.kind === 'ok'
      ? EXPLORE_EXIT.ok
      : outcome.kind === 'budget'
        ? EXPLORE_EXIT.budget
        : EXPLORE_EXIT.counterexample;
  const saved = saveS390Counterexample(raw, outcome);
  if (opts.json) {
    const cx = outcome.kind === 'violation' || outcome.kind === 'invalid-end';
    const text = exploreJsonLine({
      file,
      arch: 's390',
      name: outcome.name,
      verdict: outcome.kind === 'ok' ? 'ok' : outcome.kind === 'budget' ? 'budget' : 'counterexample',
      ...(outcome.budget ? { budget: budgetName(outcome.budget) } : {}),
      ...(cx
        ? {
            property: outcome.propertyName ?? outcome.property,
            kind: 'invariant',
            detail: outcome.detail,
            steps: outcome.labels ?? [],
            loop: [],
          }
        : {}),
      expect: scenario.expect,
      asExpected: outcome.asExpected,
      stats: {
        ...outcome.stats,
        stateWords: outcome.stateWords,
        ...(opts.timing ? { millis: Math.round(millis), safetyMillis: Math.round(millis) } : {}),
      },
    });
    return { text, exitCode, result, saved };
  }
  const rate = !opts.timing
    ? ''
    : `, ${(millis / 1000).toFixed(2)} s${millis > 0 ? `, ${Math.round((outcome.states / millis) * 1000)} states/s` : ''}`;
  const found =
    outcome.kind === 'budget'
      ? `budget exhausted (${budgetName(outcome.budget)}) before the search finished; no violation so far`
      : `${outcome.kind}${outcome.property ? ` — ${outcome.property}` : ''}`;
  const lines = [
    `${outcome.name}: ${found}`,
    `${outcome.states} states, ${outcome.transitions} transitions, depth ${outcome.maxDepth}, ` +
      `${outcome.bytesPerState} B/state${rate}`,
    `expected: ${describeExpectation(scenario)} — ${outcome.asExpected ? 'as expected' : 'NOT as expected'}`,
  ];
  if (outcome.trace) lines.push(`counterexample (${outcome.steps} steps):`, outcome.trace);
  return { text: `${lines.join('\n')}\n`, exitCode, result, saved };
}

/**
 * `kvmsim replay FILE` for a counterexample whose embedded scenario says `arch: s390`: the steps re-run and
 * printed as `explore` prints them. Exit 1 reproduced, 0 the property no longer fails; a step that is not
 * enabled is bad input (a ScenarioError naming it, exit 2).
 */
export function replayS390File(file: string, data: Record<string, unknown>): CliResult<S390Replay> {
  const saved = checkS390Saved(file, data);
  const r = replayS390(file, saved);
  if (r.diverged) {
    const k = r.trace.steps.length;
    throw new ScenarioError(
      file,
      `steps[${k}].id`,
      `the replay diverged: ${r.diverged} (an unknown step id, or the model changed since the save); after ${k} step${k === 1 ? '' : 's'} of ${saved.steps.length}`,
    );
  }
  const verdict = r.reproduced
    ? `reproduced: ${r.violation}${r.relabelled ? ' (some step labels differ from the saved ones)' : ''}`
    : `not reproduced: the steps run but ${saved.property} no longer fails`;
  const text = [
    `${r.name}: replay of a counterexample for ${saved.property}, ${saved.steps.length} steps`,
    r.rendered,
    verdict,
  ].join('\n');
  return { text: `${text}\n`, exitCode: r.reproduced ? 1 : 0, result: r };
}
