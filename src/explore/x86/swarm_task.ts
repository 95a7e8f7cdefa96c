// One search of an x86 swarm (src/explore/swarm.ts), as a pool thread runs it (src/pool/pool.ts; the build makes this
// module dist/task-swarm.js): parse the scenario data, build the model with the reductions asked for, wrap
// it in the member's diversification and run a bitstate search within the per-search budget. A pure
// function of its argument, apart from the wall-clock deadline (--max-time), which only ever stops it.
import { taskModule } from '../../pool/pool.ts';
import { loadVariants } from '../../variant/load.ts';
import { type BitstateStats, bitstateDfs } from '../bitstate.ts';
import { diversify, StateSketch, type SwarmMember, swarmMember } from '../swarm.ts';
import { x86ExploreModel } from './model.ts';
import type { PropertyName } from './properties.ts';
import type { Counterexample } from './run.ts';
import { parseExplore } from './scenario.ts';

export interface SwarmJob {
  /** The scenario's path (for messages) and its data as read (structured-clone safe: bigints). */
  readonly file: string;
  readonly raw: unknown;
  readonly seed: number;
  readonly index: number;
  /** log2 of each search's bit array. */
  readonly bits: number;
  readonly maxStates: number;
  readonly maxMemBytes: number;
  readonly symmetry: boolean;
  readonly por: boolean;
  /** Date.now() after which the search stops ('stopped'); null: none. */
  readonly deadline: number | null;
}

export interface SwarmSearchResult {
  readonly index: number;
  readonly member: SwarmMember;
  readonly verdict: 'ok' | 'counterexample' | 'budget';
  readonly budgetReason?: string;
  readonly counterexample?: Counterexample;
  readonly stats: BitstateStats;
  /** The HyperLogLog registers of the states this search reached (swarm.ts StateSketch). */
  readonly sketch: Uint8Array;
  readonly stateWords: number;
}

export function runSwarmSearch(job: SwarmJob): SwarmSearchResult {
  const { config } = parseExplore(job.raw, job.file);
  const model = x86ExploreModel(config, { symmetry: job.symmetry, por: job.por });
  const member = swarmMember(job.seed, job.index);
  const sketch = new StateSketch();
  const m = diversify(model, member, sketch);
  const deadline = job.deadline;
  const r = bitstateDfs(m, {
    bits: job.bits,
    hashSeed: member.hashSeed,
    ...(member.depthBound !== null ? { depthBound: member.depthBound } : {}),
    maxStates: job.maxStates,
    maxMemBytes: job.maxMemBytes,
    ...(deadline !== null
      ? { onProgress: () => (Date.now() >= deadline ? 'stop' : undefined), progressEvery: 4096 }
      : {}),
  });
  const base = {
    index: job.index,
    member,
    stats: r.bitstate,
    sketch: sketch.registers,
    stateWords: model.stateWords,
  };
  if (r.kind === 'budget') return { ...base, verdict: 'budget', budgetReason: r.reason };
  if (r.kind === 'ok') return { ...base, verdict: 'ok' };
  const property = r.property as PropertyName;
  const last = r.trace.states[r.trace.states.length - 1]!;
  // As run.ts tells them apart: a failure in the last step, in the state it left, or at an end state.
  const kind = r.kind === 'invalid-end' ? 'end' : model.invariant(last) === property ? 'invariant' : 'step';
  return {
    ...base,
    verdict: 'counterexample',
    counterexample: { property, kind, steps: r.trace.steps, loop: [] },
  };
}

/**
 * runSwarmSearch in a pool thread: the thread loads the scenario's variant modules first (docs/variants.md;
 * the command named them relative to the working directory the threads share).
 */
export async function runSwarmSearchTask(job: SwarmJob): Promise<SwarmSearchResult> {
  const variants = (job.raw as { variants?: unknown } | null)?.variants;
  if (Array.isArray(variants) && variants.length > 0) await loadVariants(variants as string[], process.cwd());
  return runSwarmSearch(job);
}

/** This module as a pool task (dist/task-swarm.js when built). */
export const SWARM_TASK = { module: taskModule(import.meta.url, 'swarm'), fn: 'runSwarmSearchTask' };
