import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explore } from '../../src/explore/explore.ts';
import { graphModel } from '../../src/explore/toy_models.ts';

test('explore runs BFS by default and DFS on request', () => {
  // Two paths to vertex 3: 0 -> 3 directly (BFS) and 0 -> 1 -> 2 -> 3 (DFS, first edge first).
  const model = graphModel({ edges: [[1, 3], [2], [3], []], target: 3 });
  const viaBfs = explore(model, { maxStates: 100 });
  const viaDfs = explore(model, { maxStates: 100, strategy: 'dfs' });
  assert.ok(viaBfs.kind === 'violation' && viaDfs.kind === 'violation');
  assert.equal(viaBfs.trace.steps.length, 1);
  assert.equal(viaDfs.trace.steps.length, 3);
});
