import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { bfs } from '../../src/explore/bfs.ts';
import { bfsDistances, dieHardModel, type Graph, graphModel } from '../../src/explore/toy_models.ts';
import { assertPathToTarget, graphs } from '../test_utils/graph_arbitrary.ts';

test('Die Hard: BFS finds the 6-step solution (a shortest one)', () => {
  const model = dieHardModel();
  const r = bfs(model, { maxStates: 1000 });
  assert.equal(r.kind, 'violation');
  assert.ok(r.kind === 'violation');
  assert.equal(r.property, 'big != 4');
  assert.equal(r.trace.steps.length, 6);
  assert.equal(r.trace.states.length, 7);
  assert.deepEqual(Array.from(r.trace.states[6] as Int32Array), [3, 4]);
  // The trace replays: each state is the previous one with the step applied.
  for (let k = 0; k < r.trace.steps.length; k++) {
    const s: Int32Array = Int32Array.from(r.trace.states[k] as Int32Array);
    model.apply(s, r.trace.steps[k] as number);
    assert.deepEqual(s, r.trace.states[k + 1]);
  }
});

test('BFS stores exactly the reachable states and reports a target at its BFS distance', () => {
  fc.assert(
    fc.property(graphs, ({ edges, target }) => {
      const g: Graph = { edges, target };
      const dist = bfsDistances(g);
      const r = bfs(graphModel(g), { maxStates: 1000, initialCapacity: 1 });
      const d = dist.get(target);
      if (d === undefined) {
        assert.equal(r.kind, 'ok');
        assert.equal(r.stats.states, dist.size);
        assert.equal(r.stats.expanded, dist.size);
        assert.equal(r.stats.maxDepth, Math.max(...dist.values()));
        const degree = [...dist.keys()].reduce((sum, v) => sum + (edges[v]?.length ?? 0), 0);
        assert.equal(r.stats.transitions, degree);
      } else {
        assert.ok(r.kind === 'violation');
        assert.equal(r.trace.steps.length, d);
        assert.equal(r.trace.states[d]?.[0], target);
        assertPathToTarget(edges, target, r.trace);
      }
    }),
  );
});

test('BFS reports the shallowest invalid end state', () => {
  // 0 -> 1 -> 2 -> 3 (dead end at depth 3); 0 -> 4 (dead end at depth 1).
  const g: Graph = { edges: [[1, 4], [2], [3], [], []], deadlockIsError: true };
  const r = bfs(graphModel(g), { maxStates: 100 });
  assert.ok(r.kind === 'invalid-end');
  assert.equal(r.property, 'deadlock');
  assert.deepEqual(
    r.trace.states.map((s) => s[0]),
    [0, 4],
  );
  assert.equal(bfs(graphModel({ ...g, deadlockIsError: false }), { maxStates: 100 }).kind, 'ok');
});

test('an assertion inside a step is reported with the state the step left', () => {
  const g: Graph = { edges: [[1], [0, 2], [2]], badEdges: [1001] };
  const r = bfs(graphModel(g), { maxStates: 100 });
  assert.ok(r.kind === 'violation');
  assert.equal(r.property, 'bad edge');
  assert.deepEqual(r.trace.steps, [0, 1]);
  assert.deepEqual(
    r.trace.states.map((s) => s[0]),
    [0, 1, 2],
  );
  assert.deepEqual(r.trace.labels, ['0 -> 1', '1 -> 2']);
});

test('budgets stop the search cleanly with partial statistics', () => {
  const chain: Graph = { edges: Array.from({ length: 5000 }, (_, v) => [v + 1]).concat([[]]) };
  const byStates = bfs(graphModel(chain), { maxStates: 100 });
  assert.ok(byStates.kind === 'budget');
  assert.equal(byStates.reason, 'maxStates');
  assert.equal(byStates.stats.states, 100);
  // Exactly maxStates reachable states is not a budget stop.
  assert.equal(bfs(graphModel(chain), { maxStates: 5001 }).kind, 'ok');

  const byMem = bfs(graphModel(chain), { maxMemBytes: 40_000, initialCapacity: 16 });
  assert.ok(byMem.kind === 'budget');
  assert.equal(byMem.reason, 'maxMemBytes');
  assert.ok(byMem.stats.bytes <= 40_000);
  assert.ok(byMem.stats.states > 100);

  let calls = 0;
  const stopped = bfs(graphModel(chain), {
    maxStates: 10_000,
    progressEvery: 1000,
    onProgress: (stats) => {
      calls++;
      assert.equal(stats.expanded, calls * 1000);
      return calls === 2 ? 'stop' : undefined;
    },
  });
  assert.ok(stopped.kind === 'budget');
  assert.equal(stopped.reason, 'stopped');
  assert.equal(stopped.stats.expanded, 2000);
});

test('a search without a budget is refused', () => {
  assert.throws(() => bfs(dieHardModel(), {} as never), /budget/);
});
