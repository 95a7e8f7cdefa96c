import { hashWordsSeeded } from './hash.ts';
import type { Model } from './model.ts';
import type { SearchOptions, SearchResult, SearchStats, Trace } from './search_types.ts';

/**
 * Bitstate search (Holzmann's supertrace, spin's -DBITSTATE): a depth-first search that remembers visited
 * states as `hashes` bits each in a bit array of 2^`bits` bits instead of storing their encodings, so a
 * state costs a few bits, not its encoding. A state whose bits are all already set is taken as visited: a
 * hash collision can make the search skip a state it never saw (and the part of the space behind it), so an
 * 'ok' result means "no violation among the states reached", with an estimated coverage, not a proof.
 * A violation it reports is always real: the trace is the search stack's path, replayed from the initial
 * state.
 *
 * The stack keeps each frame's encoding (to re-decode it after a pop), the step that led to it and a
 * cursor into its pending steps, all in typed arrays. Memory: the bit array plus the stack (depth ×
 * (stateWords + stepCount + 3) words), whatever the number of states.
 */
export interface BitstateOptions {
  /** log2 of the bit array's size in bits: 27 = 16 MiB … 36 = 8 GiB. */
  readonly bits: number;
  /** Bits set per state (independent hash functions, from double hashing); spin's default is 3. */
  readonly hashes?: number;
  /**
   * Mixed into the three hash seeds: another seed, other hash functions, so other collisions (a swarm
   * search's diversification, swarm.ts). Default 0: the seeds below as they are.
   */
  readonly hashSeed?: number;
  /**
   * A depth bound (spin's -m): states at this depth are checked but not expanded. Default: none.
   */
  readonly depthBound?: number;
}

export interface BitstateStats extends SearchStats {
  /** Bits in the array, bits per state, and the bits set at the end. */
  readonly bitsTotal: number;
  readonly hashes: number;
  readonly bitsSet: number;
  /** Bits in the array per state reached (spin's "hash factor"): above ~100, coverage is near complete. */
  readonly hashFactor: number;
  /**
   * The chance that the last state reached was wrongly taken as visited, (bits set / bits)^hashes: an
   * estimate of the fraction of new states the search skips at its end (spin's coverage estimate).
   */
  readonly omissionProbability: number;
}

export type BitstateResult<S> = SearchResult<S> & { readonly bitstate: BitstateStats };

export const BITSTATE_MIN_BITS = 10;
export const BITSTATE_MAX_BITS = 36;

export function bitstateDfs<S>(model: Model<S>, options: SearchOptions & BitstateOptions): BitstateResult<S> {
  const { bits } = options;
  if (!Number.isInteger(bits) || bits < BITSTATE_MIN_BITS || bits > BITSTATE_MAX_BITS)
    throw new RangeError(`bitstate bits ${bits}: expected ${BITSTATE_MIN_BITS}..${BITSTATE_MAX_BITS}`);
  const k = options.hashes ?? 3;
  if (!Number.isInteger(k) || k < 1 || k > 8) throw new RangeError(`bitstate hashes ${k}: expected 1..8`);
  const words = model.stateWords;
  const stepCount = Math.max(1, model.stepCount);
  const nbits = 2 ** bits;
  // Bytes, not words: a Uint8Array of up to 2^33 bytes is beyond V8's limit, so split into pages of 2^30.
  const PAGE_SHIFT = 30;
  const pages: Uint8Array[] = [];
  const byteLen = nbits / 8;
  for (let off = 0; off < byteLen; off += 2 ** PAGE_SHIFT)
    pages.push(new Uint8Array(Math.min(2 ** PAGE_SHIFT, byteLen - off)));
  const maxStates = options.maxStates ?? Number.POSITIVE_INFINITY;
  const maxMem = options.maxMemBytes ?? Number.POSITIVE_INFINITY;
  let bitsSet = 0;
  const seedMix = (options.hashSeed ?? 0) | 0;
  const depthBound = options.depthBound ?? Number.POSITIVE_INFINITY;
  const hashA = (w: Int32Array, n: number): number => hashWordsSeeded(w, 0, n, SEED_A ^ seedMix);
  const hashB = (w: Int32Array, n: number): number => hashWordsSeeded(w, 0, n, SEED_B ^ seedMix);
  const hashC = (w: Int32Array, n: number): number => hashWordsSeeded(w, 0, n, SEED_C ^ seedMix);

  /** Tests and sets the k bits of the encoding in `buf`: true if they were all set already. */
  const seen = (buf: Int32Array): boolean => {
    const h1 = hashA(buf, words) >>> 0;
    const h2 = (hashB(buf, words) | 1) >>> 0;
    let all = true;
    // Double hashing over a 2^bits space: positions (H + i·G) mod 2^bits, H a 48-bit hash and G odd (so
    // the k positions differ), all below 2^53 so the double arithmetic is exact.
    const hi = h1 * 65536 + (hashC(buf, words) & 0xffff);
    for (let i = 0; i < k; i++) {
      const pos = (hi + i * h2) % nbits;
      const byte = Math.floor(pos / 8);
      const page = pages[Math.floor(byte / 2 ** PAGE_SHIFT)]!;
      const b = byte % 2 ** PAGE_SHIFT;
      const bit = 1 << (pos & 7);
      if ((page[b]! & bit) === 0) {
        all = false;
        page[b] = page[b]! | bit;
        bitsSet++;
      }
    }
    return all;
  };

  let frameEnc = new Int32Array(64 * words);
  let frameStep = new Int32Array(64);
  let frameCursor = new Int32Array(64);
  let frameEnd = new Int32Array(64);
  let steps = new Int32Array(64 * stepCount);
  const enabledBuf = new Int32Array(stepCount);
  const buf = new Int32Array(words);
  const stackBytes = () =>
    frameEnc.byteLength + frameStep.byteLength * 3 + steps.byteLength + enabledBuf.byteLength;
  let states = 0;
  let transitions = 0;
  let expanded = 0;
  let maxDepth = 0;
  let top = -1;
  const stats = (): BitstateStats => {
    const bytes = byteLen + stackBytes();
    const fill = bitsSet / nbits;
    return {
      states,
      transitions,
      expanded,
      maxDepth,
      bytes,
      bytesPerState: states > 0 ? bytes / states : 0,
      bitsTotal: nbits,
      hashes: k,
      bitsSet,
      hashFactor: states > 0 ? nbits / states : nbits,
      omissionProbability: fill ** k,
    };
  };
  const done = (r: SearchResult<S>): BitstateResult<S> => ({ ...r, bitstate: stats() }) as BitstateResult<S>;

  /** The path of the stack (plus `extra`), replayed from the initial state. */
  const trace = (extra: number | null): Trace<S> => {
    const path: number[] = [];
    for (let f = 1; f <= top; f++) path.push(frameStep[f]!);
    if (extra !== null) path.push(extra);
    const out: S[] = [model.initial()];
    const labels: string[] = [];
    for (const step of path) {
      const prev = out[out.length - 1]!;
      const s = model.initial();
      model.copy(prev, s);
      labels.push(model.stepLabel(step, prev));
      model.apply(s, step);
      out.push(s);
    }
    return { steps: path, labels, states: out };
  };

  /** Checks state `s` (encoded in `buf`, reached by `via`) and pushes its frame; a failure result or null. */
  const push = (s: S, via: number): SearchResult<S> | null => {
    states++;
    const start = top < 0 ? 0 : frameEnd[top]!;
    if (top + 1 === frameStep.length || start + stepCount > steps.length) {
      if (byteLen + stackBytes() * 2 > maxMem)
        return { kind: 'budget', reason: 'maxMemBytes', stats: stats() };
      frameEnc = grown(frameEnc, frameEnc.length * 2);
      frameStep = grown(frameStep, frameStep.length * 2);
      frameCursor = grown(frameCursor, frameCursor.length * 2);
      frameEnd = grown(frameEnd, frameEnd.length * 2);
      steps = grown(steps, steps.length * 2);
    }
    top++;
    frameEnc.set(buf, top * words);
    frameStep[top] = via;
    const bad = model.invariant(s);
    if (bad !== null) return { kind: 'violation', property: bad, trace: trace(null), stats: stats() };
    // At the depth bound the state is checked but not expanded (and not taken for an end state).
    const bounded = top >= depthBound;
    const n = bounded ? 0 : model.enabled(s, enabledBuf);
    for (let j = 0; j < n; j++) steps[start + j] = enabledBuf[j]!;
    if (!bounded) expanded++;
    if (n === 0 && !bounded) {
      const end = model.endState(s);
      if (end !== null) return { kind: 'invalid-end', property: end, trace: trace(null), stats: stats() };
    }
    frameCursor[top] = start;
    frameEnd[top] = start + n;
    if (top > maxDepth) maxDepth = top;
    return null;
  };

  if (byteLen > maxMem) return done({ kind: 'budget', reason: 'maxMemBytes', stats: stats() });
  const base = model.initial();
  const next = model.initial();
  model.encode(base, buf);
  seen(buf);
  const first = push(base, -1);
  if (first !== null) return done(first);
  let decodedTop = 0;
  const progressEvery = options.progressEvery ?? 0x10000;
  while (top >= 0) {
    const cursor = frameCursor[top]!;
    if (cursor === frameEnd[top]) {
      top--;
      continue;
    }
    frameCursor[top] = cursor + 1;
    const step = steps[cursor]!;
    if (decodedTop !== top) {
      model.decode(frameEnc, top * words, base);
      decodedTop = top;
    }
    model.copy(base, next);
    const failed = model.apply(next, step);
    transitions++;
    if (failed !== null) {
      const t = trace(step);
      return done({ kind: 'violation', property: failed, trace: t, stats: stats() });
    }
    model.encode(next, buf);
    if (seen(buf)) continue;
    if (states >= maxStates) return done({ kind: 'budget', reason: 'maxStates', stats: stats() });
    const failure = push(next, step);
    if (failure !== null) return done(failure);
    model.copy(next, base);
    decodedTop = top;
    if (
      options.onProgress !== undefined &&
      expanded % progressEvery === 0 &&
      options.onProgress(stats()) === 'stop'
    )
      return done({ kind: 'budget', reason: 'stopped', stats: stats() });
  }
  return done({ kind: 'ok', stats: stats() });
}

function grown(a: Int32Array, length: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(length);
  b.set(a);
  return b;
}

/** The seeds of three independent 32-bit hashes of an encoding (hash.ts's mixing), before hashSeed. */
const SEED_A = 0x9747b28c | 0;
const SEED_B = 0x2545f491 | 0;
const SEED_C = 0x61c88647 | 0;
