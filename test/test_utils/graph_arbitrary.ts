// Random graphs for the explorer's search tests (bfs, dfs, bitstate), and the check that a counterexample
// of graphModel is a real path from vertex 0 to the target.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Trace } from '../../src/explore/search_types.ts';

/** Random graphs on up to 40 vertices with out-degree up to 4, and a target (n: none). */
export const graphs = fc.integer({ min: 1, max: 40 }).chain((n) =>
  fc.record({
    edges: fc.array(fc.array(fc.integer({ min: 0, max: n - 1 }), { maxLength: 4 }), {
      minLength: n,
      maxLength: n,
    }),
    target: fc.integer({ min: 0, max: n }),
  }),
);

/** The trace starts at vertex 0, follows an edge per step, and ends at `target`; returns its vertices. */
export function assertPathToTarget(edges: number[][], target: number, trace: Trace<Int32Array>): number[] {
  const vs = trace.states.map((s) => s[0] as number);
  assert.equal(vs[0], 0);
  assert.equal(vs.at(-1), target);
  for (let k = 0; k + 1 < vs.length; k++)
    assert.equal(edges[vs[k] as number]?.[trace.steps[k] as number], vs[k + 1]);
  return vs;
}
