/**
 * The contract between the explorer (a generic explicit-state model checker) and a protocol model.
 *
 * Why this shape: the explorer stores millions of states, so it never keeps a model's state objects.
 * It keeps only their canonical encodings (fixed-length runs of 32-bit words in one typed-array arena)
 * and works on a handful of mutable scratch states that the model reuses. Steps are small integers,
 * so enumerating successors allocates nothing.
 *
 * The same interface serves the apf_slot benchmark, and is meant for the x86 async-PF protocol model,
 * the s390 GISA model and the MMU model: each keeps its working state in whatever mutable object or
 * typed array suits it, and provides encode/decode between that state and the compact encoding.
 *
 * Rules a model must follow (the engine relies on them and does not check them in the hot loop):
 * - determinism: `apply(s, step)` depends only on `s` and `step`; no clock, no randomness;
 * - canonical encoding: two states are the same state iff their encodings are equal word for word,
 *   so every word must be written (unused fields as 0) and symmetric representations normalised;
 * - `enabled` lists each enabled step id once; a nondeterministic choice is several step ids.
 *
 * @typeParam S the model's mutable working state (an object, a class instance or a typed array).
 */
export interface Model<S> {
  /** Shown in reports, e.g. `apf_slot(NTASK=2, NTOK=3)`. */
  readonly name: string;
  /**
   * Length of every encoding in 32-bit words. A model whose content varies in size (queues, lists)
   * encodes into its bound and pads with zeros: the arena stays stride-addressed (state i starts at
   * word i * stateWords), which needs no per-state offset and keeps bytes/state low.
   */
  readonly stateWords: number;
  /** Step ids are integers in [0, stepCount). Sizes the engine's step buffers and parent-step array. */
  readonly stepCount: number;
  /**
   * Optional: where the encoding's components start (ascending word offsets, e.g. one per process), for
   * the collapse-compressed store (SearchOptions.collapse). Without it the store cuts fixed chunks.
   */
  readonly components?: readonly number[];

  /** A fresh object holding the initial state. Also used to allocate the engine's scratch states. */
  initial(): S;
  /** Overwrites `to` with `from` (the engine copies the expanded state before applying each step). */
  copy(from: S, to: S): void;
  /** Writes the canonical encoding of `s` into `out[0 .. stateWords)`, every word. */
  encode(s: S, out: Int32Array): void;
  /** Overwrites `into` with the state encoded at `words[offset .. offset + stateWords)`. */
  decode(words: Int32Array, offset: number, into: S): void;
  /**
   * Optional: what `decode` does, for a working state the engine only decodes into, steps and encodes.
   * The model may skip the parts `into` already holds (it knows what it last decoded or encoded), so
   * restoring the expanded state after a step costs what the step changed. Without it the engine copies
   * the expanded state into a scratch state before each step.
   */
  restore?(into: S, words: Int32Array, offset: number): void;

  /** Writes the ids of the steps enabled in `s` into `out` (length >= stepCount); returns how many. */
  enabled(s: S, out: Int32Array): number;
  /**
   * Applies an enabled step to `s` in place. Returns null, or the name of an assertion that failed
   * inside the step (a Promela `assert` within an atomic block); the engine then reports a violation
   * whose last state is `s` as the step left it.
   */
  apply(s: S, step: number): string | null;
  /** Checked on every explored state: null, or the name of the violated invariant. */
  invariant(s: S): string | null;
  /**
   * Called for a state with no enabled step: null if it is a valid end state, else a name for the
   * failure ('deadlock', 'invalid end state: ...').
   */
  endState(s: S): string | null;

  /** A human-readable label for `step` taken from state `before` (e.g. 'host: deliver token 2'). */
  stepLabel(step: number, before: S): string;
  /**
   * A pretty-printer as named fields. Counterexamples print the initial state in full and, at each
   * step, only the fields whose rendering changed. Key order is the print order.
   */
  describe(s: S): Readonly<Record<string, string | number | boolean>>;
}
