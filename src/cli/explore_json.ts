// `kvmsim explore --json`: one object of one shape for every arch (docs/explorer.md, "JSON output"). Fields
// that do not apply are absent, never null: `budget` only for verdict budget; `property`, `kind`, `detail`,
// `steps`, `loop` only for a counterexample; `expect`/`asExpected` only for scenarios that state what the
// search should find (s390 today); `stats.liveness` only when a liveness pass ran; `stats.millis` and
// `stats.safetyMillis` only with --timing.
import type { SearchStats } from '../explore/search_types.ts';
import type { Replay } from '../explore/x86/counterexample.ts';
import type { Counterexample } from '../explore/x86/run.ts';

export interface ExploreJson {
  readonly file: string;
  readonly arch: 'x86' | 's390';
  /** The scenario's `name:`, else the file. */
  readonly name: string;
  /** x86: the variants applied (docs/variants.md), by name; absent when none. */
  readonly variants?: readonly string[];
  readonly verdict: 'ok' | 'counterexample' | 'budget';
  /** maxStates, maxMemBytes, maxTime or "liveness pass". */
  readonly budget?: string;
  /** The violated property's name, as `check:`/`properties:` spell it. */
  readonly property?: string;
  /** invariant (a state), step (inside the last step), end (no step enabled), liveness (a lasso). */
  readonly kind?: string;
  /** What exactly went wrong, in words. */
  readonly detail?: string;
  /** Step labels from the initial state. */
  readonly steps?: readonly string[];
  /** Liveness: labels of the steps that repeat for ever after `steps` (else empty). */
  readonly loop?: readonly string[];
  /** The scenario's `expect:` as written, and whether the search found exactly that. */
  readonly expect?: unknown;
  readonly asExpected?: boolean;
  readonly stats: SearchStats & {
    readonly stateWords: number;
    readonly liveness?: { readonly states: number; readonly edges: number };
    readonly millis?: number;
    readonly safetyMillis?: number;
  };
}

/** The budget names the output uses ('stopped' is the --max-time callback). */
export const budgetName = (r: string | undefined): string | undefined => (r === 'stopped' ? 'maxTime' : r);

/** One line: the object with its keys in the documented order. */
export function exploreJsonLine(j: ExploreJson): string {
  const ordered: ExploreJson = {
    file: j.file,
    arch: j.arch,
    name: j.name,
    ...(j.variants !== undefined ? { variants: j.variants } : {}),
    verdict: j.verdict,
    ...(j.budget !== undefined ? { budget: j.budget } : {}),
    ...(j.property !== undefined ? { property: j.property } : {}),
    ...(j.kind !== undefined ? { kind: j.kind } : {}),
    ...(j.detail ? { detail: j.detail } : {}),
    ...(j.steps !== undefined ? { steps: j.steps } : {}),
    ...(j.loop !== undefined ? { loop: j.loop } : {}),
    ...(j.expect !== undefined ? { expect: j.expect, asExpected: j.asExpected } : {}),
    stats: j.stats,
  };
  return `${JSON.stringify(ordered)}\n`;
}

/** An x86 counterexample's fields of the line: the property, kind and detail, and its replayed steps' labels
 * split where the liveness loop starts (empty for a safety counterexample). */
export const counterexampleJson = (
  cx: Counterexample,
  rep: Replay,
): Pick<ExploreJson, 'property' | 'kind' | 'detail' | 'steps' | 'loop'> => ({
  property: cx.property,
  kind: cx.kind,
  ...(cx.detail ? { detail: cx.detail } : {}),
  steps: rep.steps.slice(0, cx.steps.length).map((s) => s.label),
  loop: rep.steps.slice(cx.steps.length).map((s) => s.label),
});
