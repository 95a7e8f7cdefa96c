/**
 * Options, statistics and results shared by the breadth-first and depth-first searches.
 */

/**
 * A search must be bounded: some models' state spaces exhaust any machine (apf_slot with 4 tasks and
 * 6 tokens has more than 224 M states). At least one of the two limits is required by the type.
 */
export type Budget =
  | { readonly maxStates: number; readonly maxMemBytes?: number }
  | { readonly maxStates?: number; readonly maxMemBytes: number };

/** Why a search stopped early. */
export type BudgetReason = 'maxStates' | 'maxMemBytes' | 'stopped';

export type SearchOptions = Budget & {
  /**
   * Called every `progressEvery` expanded states with the statistics so far. Return 'stop' to end the
   * search with a 'budget' result (reason 'stopped'): that is how a caller imposes a wall-clock limit,
   * since the engine itself never reads the clock.
   */
  readonly onProgress?: (stats: SearchStats) => 'stop' | undefined;
  /** Expanded states between progress calls; default 65,536. */
  readonly progressEvery?: number;
  /** Initial capacity in states (rounded up to a power of two); default 1,024. */
  readonly initialCapacity?: number;
  /**
   * Store states collapse-compressed (collapse_set.ts, spin's COLLAPSE): each distinct component of an
   * encoding once, a state as its components' indices. Same states, order and results; fewer bytes per
   * state when states share components, at some CPU cost. Off by default.
   */
  readonly collapse?: boolean;
  /**
   * 'last': a counterexample's trace decodes its path through two reused scratch states, so only its
   * final state is a state of its own (trace.ts, buildTrace); for callers that use only the steps and the
   * final state. Default 'all'.
   */
  readonly traceStates?: 'all' | 'last';
};

export interface SearchStats {
  /** Distinct states stored. */
  readonly states: number;
  /** Steps applied, i.e. successors generated, whether new or already stored. */
  readonly transitions: number;
  /** States whose successors were generated. */
  readonly expanded: number;
  /** Greatest depth (steps from the initial state) of a stored state; for DFS, of the search stack. */
  readonly maxDepth: number;
  /** Bytes allocated by the search's typed arrays: arena, hash table, parent links (and DFS stack). */
  readonly bytes: number;
  /** `bytes / states`. */
  readonly bytesPerState: number;
}

/**
 * A counterexample: `states[0]` is the initial state and `states[k]` the state after `steps[k - 1]`
 * (labelled `labels[k - 1]`). States are decoded into fresh model objects.
 */
export interface Trace<S> {
  readonly steps: readonly number[];
  readonly labels: readonly string[];
  readonly states: readonly S[];
}

export type SearchResult<S> =
  /** Every reachable state was explored; no violation. */
  | { readonly kind: 'ok'; readonly stats: SearchStats }
  /** An invariant failed in the trace's last state, or an assertion inside its last step. */
  | {
      readonly kind: 'violation';
      readonly property: string;
      readonly trace: Trace<S>;
      readonly stats: SearchStats;
    }
  /** The trace's last state has no enabled step and the model says it is not a valid end state. */
  | {
      readonly kind: 'invalid-end';
      readonly property: string;
      readonly trace: Trace<S>;
      readonly stats: SearchStats;
    }
  /** A budget ran out: the statistics cover the partial search. */
  | { readonly kind: 'budget'; readonly reason: BudgetReason; readonly stats: SearchStats };
