// One x86 explore run: the safety search (the generic engine, with the reductions on), then, when the
// safety properties hold within the budget and a liveness property is asked for, the liveness pass.
// The result carries the counterexample as step ids from the initial state, which counterexample.ts
// replays and renders, and saves for `kvmsim replay`.
import type { BitstateStats } from '../bitstate.ts';
import { explore, type Strategy } from '../explore.ts';
import type { SearchStats } from '../search_types.ts';
import type { ExploreWorldConfig } from './config.ts';
import { checkLiveness } from './liveness.ts';
import { x86ExploreModel } from './model.ts';
import {
  type CheckedProperty,
  isVariantProperty,
  LIVENESS_PROPERTIES,
  type PropertyName,
} from './properties.ts';

export interface ExploreSearchOptions {
  readonly strategy: Strategy;
  /** With strategy 'bitstate': log2 of the bit array's size in bits (bitstate.ts). */
  readonly bitstateBits?: number;
  readonly maxStates: number;
  readonly maxMemBytes?: number;
  readonly symmetry: boolean;
  readonly por: boolean;
  /** Collapse-compressed visited set (SearchOptions.collapse): fewer bytes per state, same results. */
  readonly collapse?: boolean;
  /** With `symmetry`: also the vCPU symmetry (vcpu_symmetry.ts); opt-in. */
  readonly vcpuSymmetry?: boolean;
  /** A clock for the statistics (the CLI passes performance.now); model code never reads one. */
  readonly now?: () => number;
  /** Called every 65,536 expanded states of the safety search (the CLI's progress line on a TTY). */
  readonly onProgress?: (stats: SearchStats) => void;
  /**
   * Asked every 65,536 expanded states of the safety search and before the liveness pass: true ends the
   * search as a budget ('stopped'). The CLI's --max-time; the search itself never reads a clock.
   */
  readonly shouldStop?: () => boolean;
}

export interface Counterexample {
  readonly property: CheckedProperty;
  /** 'invariant' (a state), 'step' (inside the last step), 'end' (no step enabled), 'liveness' (a lasso). */
  readonly kind: 'invariant' | 'step' | 'end' | 'liveness';
  /** Step ids from the initial state. */
  readonly steps: readonly number[];
  /** Liveness: step ids of the loop that repeats after `steps` (empty: the run ends there). */
  readonly loop: readonly number[];
  readonly detail?: string;
}

export interface ExploreOutcome {
  readonly verdict: 'ok' | 'counterexample' | 'budget';
  readonly budgetReason?: string;
  readonly counterexample?: Counterexample;
  readonly safety: SearchStats;
  readonly liveness?: { readonly states: number; readonly edges: number };
  /** A bitstate search's coverage figures; its 'ok' covers the states reached, and no liveness pass ran. */
  readonly bitstate?: BitstateStats;
  /** Liveness properties not checked (a bitstate search stores no graph to find cycles in). */
  readonly livenessSkipped?: readonly PropertyName[];
  /** Milliseconds in all, and in the safety search alone, when a clock was given. */
  readonly millis?: number;
  readonly safetyMillis?: number;
  readonly stateWords: number;
}

export function runExplore(cfg: ExploreWorldConfig, o: ExploreSearchOptions): ExploreOutcome {
  const t0 = o.now?.();
  const onProgress = o.onProgress;
  const shouldStop = o.shouldStop;
  const search = (vcpuSymmetry: boolean) => {
    const model = x86ExploreModel(cfg, { symmetry: o.symmetry, por: o.por, vcpuSymmetry });
    const r = explore(model, {
      ...(o.maxMemBytes !== undefined
        ? { maxStates: o.maxStates, maxMemBytes: o.maxMemBytes }
        : { maxStates: o.maxStates }),
      strategy: o.strategy,
      // Only the steps and the final state of a counterexample are used (replay renders it).
      traceStates: 'last',
      ...(o.collapse === true ? { collapse: true } : {}),
      ...(o.bitstateBits !== undefined ? { bitstateBits: o.bitstateBits } : {}),
      ...(onProgress || shouldStop
        ? {
            onProgress: (st: SearchStats) => {
              onProgress?.(st);
              return shouldStop?.() ? 'stop' : undefined;
            },
          }
        : {}),
    });
    return { model, r };
  };
  let { model, r } = search(o.vcpuSymmetry === true);
  // With the vCPU symmetry, a path through stored representatives is not a path of the real system (step
  // ids name vCPUs; vcpu_symmetry.ts): find the counterexample again without it.
  if (model.vcpuSymmetry !== null && (r.kind === 'violation' || r.kind === 'invalid-end'))
    ({ model, r } = search(false));
  const t1 = o.now?.();
  const bitstate = r.bitstate;
  const done = (x: Omit<ExploreOutcome, 'millis' | 'safetyMillis' | 'stateWords'>): ExploreOutcome => ({
    ...x,
    ...(bitstate ? { bitstate } : {}),
    stateWords: model.stateWords,
    ...(t0 !== undefined && t1 !== undefined && o.now ? { millis: o.now() - t0, safetyMillis: t1 - t0 } : {}),
  });
  if (r.kind === 'budget') return done({ verdict: 'budget', budgetReason: r.reason, safety: r.stats });
  if (r.kind === 'violation' || r.kind === 'invalid-end') {
    const property = r.property as CheckedProperty;
    const last = r.trace.states[r.trace.states.length - 1]!;
    // A violation found in a step is reported with the state the step left; tell it from an invariant.
    const kind = r.kind === 'invalid-end' ? 'end' : model.invariant(last) === property ? 'invariant' : 'step';
    return done({
      verdict: 'counterexample',
      counterexample: {
        property,
        kind,
        steps: r.trace.steps,
        loop: [],
        ...(isVariantProperty(property) && last.world.variantDetail !== null
          ? { detail: last.world.variantDetail }
          : {}),
      },
      safety: r.stats,
    });
  }
  const live = cfg.properties.filter((p) => LIVENESS_PROPERTIES.includes(p));
  if (live.length === 0) return done({ verdict: 'ok', safety: r.stats });
  if (bitstate) return done({ verdict: 'ok', safety: r.stats, livenessSkipped: live });
  if (shouldStop?.()) return done({ verdict: 'budget', budgetReason: 'stopped', safety: r.stats });
  const lm = x86ExploreModel(cfg, { symmetry: o.symmetry, por: false, vcpuSymmetry: false });
  const l = checkLiveness(lm, live, { maxStates: o.maxStates, maxMemBytes: o.maxMemBytes });
  const liveness = { states: l.states, edges: l.edges };
  if (l.kind === 'budget')
    return done({ verdict: 'budget', budgetReason: 'liveness pass', safety: r.stats, liveness });
  if (l.kind === 'ok') return done({ verdict: 'ok', safety: r.stats, liveness });
  return done({
    verdict: 'counterexample',
    counterexample: {
      property: l.property,
      kind: 'liveness',
      steps: l.lasso.prefix,
      loop: l.lasso.loop,
      detail: l.detail,
    },
    safety: r.stats,
    liveness,
  });
}
