import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { dfs } from '../../src/explore/dfs.ts';
import { bfsDistances, dieHardModel, type Graph, graphModel } from '../../src/explore/toy_models.ts';
import { assertPathToTarget, graphs } from '../test_utils/graph_arbitrary.ts';

test('DFS stores exactly the reachable states; a reported trace is a real path to the target', () => {
  fc.assert(
    fc.property(graphs, ({ edges, target }) => {
      const g: Graph = { edges, target };
      const dist = bfsDistances(g);
      const r = dfs(graphModel(g), { maxStates: 1000, initialCapacity: 1 });
      if (!dist.has(target)) {
        assert.equal(r.kind, 'ok');
        assert.equal(r.stats.states, dist.size);
        const degree = [...dist.keys()].reduce((sum, v) => sum + (edges[v]?.length ?? 0), 0);
        assert.equal(r.stats.transitions, degree);
      } else {
        assert.ok(r.kind === 'violation');
        const vs = assertPathToTarget(edges, target, r.trace);
        assert.ok(vs.length - 1 >= (dist.get(target) as number));
      }
    }),
  );
});

test('DFS finds the Die Hard goal, an invalid end state, and stops on budgets', () => {
  const r = dfs(dieHardModel(), { maxStates: 1000 });
  assert.ok(r.kind === 'violation');
  assert.deepEqual(Array.from(r.trace.states.at(-1) as Int32Array), [3, 4]);

  const dead = dfs(graphModel({ edges: [[1, 2], [0], []], deadlockIsError: true }), { maxStates: 10 });
  assert.ok(dead.kind === 'invalid-end');
  assert.equal(dead.trace.states.at(-1)?.[0], 2);

  // A long chain: the DFS stack grows to the chain's length.
  const chain: Graph = { edges: Array.from({ length: 3000 }, (_, v) => [v + 1]).concat([[]]) };
  const ok = dfs(graphModel(chain), { maxStates: 10_000 });
  assert.equal(ok.kind, 'ok');
  assert.equal(ok.stats.maxDepth, 3000);
  const budget = dfs(graphModel(chain), { maxStates: 500 });
  assert.ok(budget.kind === 'budget');
  assert.equal(budget.reason, 'maxStates');
  assert.equal(budget.stats.states, 500);
  const mem = dfs(graphModel(chain), { maxMemBytes: 30_000, initialCapacity: 16 });
  assert.ok(mem.kind === 'budget');
  assert.equal(mem.reason, 'maxMemBytes');
  assert.ok(mem.stats.bytes <= 30_000);
});
