/**
 * Small models for the engine's own tests: they exercise the Model contract without the protocol models'
 * size, and have answers known independently (a puzzle's shortest solution, a graph's BFS distances).
 */
import type { Model } from './model.ts';

/**
 * The Die Hard jugs puzzle (xstate's graph tests use it too): a 3 l and a 5 l jug; fill, empty or pour.
 * The "invariant" big != 4 fails after 6 steps at the least. State: Int32Array [small, big].
 */
export function dieHardModel(): Model<Int32Array> {
  const labels = [
    'fill small',
    'fill big',
    'empty small',
    'empty big',
    'pour small into big',
    'pour big into small',
  ];
  return {
    name: 'die hard',
    stateWords: 1,
    stepCount: 6,
    initial: () => new Int32Array(2),
    copy: (from, to) => to.set(from),
    encode: (s, out) => {
      out[0] = s[0] | (s[1] << 8);
    },
    decode: (words, offset, into) => {
      into[0] = words[offset] & 0xff;
      into[1] = words[offset] >>> 8;
    },
    enabled: (_s, out) => {
      for (let k = 0; k < 6; k++) out[k] = k;
      return 6;
    },
    apply: (s, step) => {
      const [small, big] = [s[0], s[1]];
      if (step === 0) s[0] = 3;
      else if (step === 1) s[1] = 5;
      else if (step === 2) s[0] = 0;
      else if (step === 3) s[1] = 0;
      else if (step === 4) {
        const amount = Math.min(small, 5 - big);
        s[0] = small - amount;
        s[1] = big + amount;
      } else {
        const amount = Math.min(big, 3 - small);
        s[0] = small + amount;
        s[1] = big - amount;
      }
      return null;
    },
    invariant: (s) => (s[1] === 4 ? 'big != 4' : null),
    endState: () => null,
    stepLabel: (step) => labels[step] ?? `step ${step}`,
    describe: (s) => ({ small: s[0], big: s[1] }),
  };
}

/** A directed graph: `edges[v]` lists v's successors. Vertex 0 is initial. */
export interface Graph {
  readonly edges: readonly (readonly number[])[];
  /** Reaching this vertex violates the invariant 'avoid target'. */
  readonly target?: number;
  /** A vertex with no edge is an invalid end state ('deadlock') if true, else a valid one. */
  readonly deadlockIsError?: boolean;
  /** Taking edge `edges[v][k]` fails the in-step assertion 'bad edge' if `v * 1000 + k` is listed. */
  readonly badEdges?: readonly number[];
}

/** A model whose state is a graph vertex (a one-element Int32Array) and whose step k takes v's k-th edge. */
export function graphModel(g: Graph): Model<Int32Array> {
  const stepCount = Math.max(1, ...g.edges.map((e) => e.length));
  return {
    name: 'graph',
    stateWords: 1,
    stepCount,
    initial: () => new Int32Array(1),
    copy: (from, to) => {
      to[0] = from[0];
    },
    encode: (s, out) => {
      out[0] = s[0];
    },
    decode: (words, offset, into) => {
      into[0] = words[offset];
    },
    enabled: (s, out) => {
      const e = g.edges[s[0]] ?? [];
      for (let k = 0; k < e.length; k++) out[k] = k;
      return e.length;
    },
    apply: (s, step) => {
      const v = s[0];
      s[0] = g.edges[v]?.[step] ?? v;
      return g.badEdges?.includes(v * 1000 + step) ? 'bad edge' : null;
    },
    invariant: (s) => (s[0] === g.target ? 'avoid target' : null),
    endState: () => (g.deadlockIsError ? 'deadlock' : null),
    stepLabel: (step, s) => `${s[0]} -> ${g.edges[s[0]]?.[step]}`,
    describe: (s) => ({ v: s[0] }),
  };
}

/** Vertices reachable from 0 and their BFS distances (the reference the tests compare against). */
export function bfsDistances(g: Graph): Map<number, number> {
  const dist = new Map<number, number>([[0, 0]]);
  const queue = [0];
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q] as number;
    for (const w of g.edges[v] ?? []) {
      if (!dist.has(w)) {
        dist.set(w, (dist.get(v) as number) + 1);
        queue.push(w);
      }
    }
  }
  return dist;
}
