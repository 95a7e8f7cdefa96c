// `kvmsim explore FILE --swarm N [--jobs J]` (or `search.strategy: swarm`): the swarm's outcome
// (swarm_run.ts) as the command prints it. A counterexample prints exactly as a single search's does (the
// same header and replay, and `--save` writes the same replayable file); the statistics lines describe
// the searches that decided the outcome. Nothing here depends on --jobs or on timing, so the output is
// byte-identical for any number of jobs (test/explore/swarm.test.ts).

import type { SearchStats } from '../explore/search_types.ts';
import { describeMember } from '../explore/swarm.ts';
import type { ExploreWorldConfig } from '../explore/x86/config.ts';
import {
  renderReplay,
  replay,
  type SavedCounterexample,
  saveCounterexample,
} from '../explore/x86/counterexample.ts';
import { LIVENESS_PROPERTIES } from '../explore/x86/properties.ts';
import { runSwarm, type SwarmOutcome } from '../explore/x86/swarm_run.ts';
import type { SwarmSearchResult } from '../explore/x86/swarm_task.ts';
import { budgetName, counterexampleJson, exploreJsonLine } from './explore_json.ts';
import { exploreHeading, propertySummary } from './explore_property.ts';

export interface SwarmCommandOptions {
  readonly file: string;
  readonly name: string;
  /** The scenario's variants by name (docs/variants.md): in the heading, and in the JSON. */
  readonly variants: readonly string[];
  readonly raw: unknown;
  readonly config: ExploreWorldConfig;
  readonly searches: number;
  readonly seed: number;
  readonly jobs: number;
  readonly bits: number;
  readonly maxStates: number;
  readonly maxMemBytes: number;
  readonly symmetry: boolean;
  readonly por: boolean;
  readonly deadline: number | null;
  readonly json: boolean;
}

export interface SwarmCommandResult {
  readonly text: string;
  readonly exitCode: 0 | 1 | 3;
  readonly saved: SavedCounterexample | null;
  readonly outcome: SwarmOutcome;
}

function searchLine(r: SwarmSearchResult): string {
  const s = r.stats;
  const what =
    r.verdict === 'counterexample'
      ? `counterexample for ${r.counterexample!.property}`
      : r.verdict === 'budget'
        ? `budget (${budgetName(r.budgetReason)})`
        : 'no violation';
  return `  search ${r.index} (${describeMember(r.member)}): ${what}; ${s.states} states, ${s.transitions} transitions, depth ${s.maxDepth}, hash factor ${Math.round(s.hashFactor)}, estimated omission probability ${s.omissionProbability.toExponential(1)}`;
}

function sum(rs: readonly SwarmSearchResult[], f: (s: SearchStats) => number): number {
  let t = 0;
  for (const r of rs) t += f(r.stats);
  return t;
}

export async function exploreSwarm(o: SwarmCommandOptions): Promise<SwarmCommandResult> {
  const outcome = await runSwarm({
    file: o.file,
    raw: o.raw,
    seed: o.seed,
    searches: o.searches,
    jobs: o.jobs,
    bits: o.bits,
    maxStates: o.maxStates,
    maxMemBytes: o.maxMemBytes,
    symmetry: o.symmetry,
    por: o.por,
    deadline: o.deadline,
  });
  const found = outcome.found;
  const cx = found?.counterexample;
  const rep = cx ? replay(o.config, cx) : null;
  const saved = cx && rep ? saveCounterexample(o.raw, rep, cx) : null;
  const rs = outcome.searches;
  const states = sum(rs, (s) => s.states);
  const transitions = sum(rs, (s) => s.transitions);
  const maxDepth = rs.reduce((m, r) => Math.max(m, r.stats.maxDepth), 0);
  const bytes = rs.reduce((m, r) => Math.max(m, r.stats.bytes), 0);
  const union = Math.round(outcome.unionEstimate);
  const live = o.config.properties.filter((p) => LIVENESS_PROPERTIES.includes(p));
  const budgets = rs.filter((r) => r.verdict === 'budget');
  const budget =
    outcome.verdict === 'budget' ? budgetName(budgets[0]!.budgetReason ?? 'maxStates') : undefined;
  const exitCode = outcome.verdict === 'ok' ? 0 : outcome.verdict === 'counterexample' ? 1 : 3;
  const swarmJson = {
    searches: o.searches,
    seed: o.seed,
    bits: o.bits,
    decided: rs.length,
    ...(found ? { foundBy: found.index } : {}),
    unionStatesEstimate: union,
    perSearch: rs.map((r) => ({
      index: r.index,
      order: r.member.order,
      orderSeed: r.member.orderSeed,
      hashSeed: r.member.hashSeed,
      depthBound: r.member.depthBound,
      verdict: r.verdict,
      ...(r.budgetReason ? { budget: budgetName(r.budgetReason) } : {}),
      ...(r.counterexample ? { property: r.counterexample.property } : {}),
      states: r.stats.states,
      transitions: r.stats.transitions,
      maxDepth: r.stats.maxDepth,
      hashFactor: r.stats.hashFactor,
      omissionProbability: r.stats.omissionProbability,
    })),
  };
  if (o.json) {
    const text = exploreJsonLine({
      file: o.file,
      arch: 'x86',
      name: o.name,
      ...(o.variants.length > 0 ? { variants: o.variants } : {}),
      verdict: outcome.verdict,
      ...(budget ? { budget } : {}),
      ...(cx && rep ? counterexampleJson(cx, rep) : {}),
      stats: {
        states,
        transitions,
        expanded: sum(rs, (s) => s.expanded),
        maxDepth,
        bytes,
        bytesPerState: states > 0 ? bytes / states : 0,
        stateWords: rs[0]!.stateWords,
        ...(live.length > 0 ? { livenessSkipped: live } : {}),
        swarm: swarmJson,
      } as never,
    });
    return { text, exitCode, saved, outcome };
  }
  const out: string[] = [];
  const heading = exploreHeading(o.name, o.variants);
  const checked = o.config.properties.filter((p) => !live.includes(p));
  if (cx && rep) {
    const what = propertySummary(cx.property, o.config);
    out.push(
      renderReplay(
        rep,
        `${heading}: counterexample for ${cx.property} (${what})${cx.detail ? `: ${cx.detail}` : ''}, ${cx.steps.length + cx.loop.length} steps`,
      ),
    );
  } else if (outcome.verdict === 'ok')
    out.push(
      `${heading}: no violation of ${checked.join(', ')} in the states ${o.searches} swarm searches reached (not a proof: see their coverage figures)`,
    );
  else
    out.push(
      `${heading}: no violation of ${checked.join(', ')} in the states ${o.searches} swarm searches reached before their budgets ran out (${budgets.length} of ${o.searches}: ${budget})`,
    );
  if (live.length > 0 && !cx)
    out.push(`not checked: ${live.join(', ')} (liveness needs the stored state graph)`);
  out.push(
    found
      ? `swarm search: ${o.searches} searches (seed ${o.seed}, 2^${o.bits} bits each); the lowest-numbered to find a counterexample, search ${found.index}, decides:`
      : `swarm search: ${o.searches} searches (seed ${o.seed}, 2^${o.bits} bits each):`,
  );
  for (const r of rs) out.push(searchLine(r));
  out.push(
    `swarm union: about ${union} distinct states reached (HyperLogLog estimate, ±1%); ${states} states and ${transitions} transitions over ${rs.length === 1 ? '1 search' : `the ${rs.length} searches`}, the largest search ${rs.reduce((m, r) => Math.max(m, r.stats.states), 0)} states`,
  );
  return { text: `${out.join('\n')}\n`, exitCode, saved, outcome };
}
