import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bfs } from '../../src/explore/bfs.ts';
import { dfs } from '../../src/explore/dfs.ts';
import { dieHardModel } from '../../src/explore/toy_models.ts';
import { diffStates, renderTrace } from '../../src/explore/trace.ts';

test('diffStates lists only the fields whose rendering changed', () => {
  const m = dieHardModel();
  assert.deepEqual(diffStates(m, Int32Array.of(3, 0), Int32Array.of(0, 3)), [
    { field: 'small', before: '3', after: '0' },
    { field: 'big', before: '0', after: '3' },
  ]);
  assert.deepEqual(diffStates(m, Int32Array.of(3, 1), Int32Array.of(3, 2)), [
    { field: 'big', before: '1', after: '2' },
  ]);
});

test('renderTrace prints the initial state, then numbered steps with their changes', () => {
  const m = dieHardModel();
  const r = bfs(m, { maxStates: 100 });
  assert.ok(r.kind === 'violation');
  const text = renderTrace(m, r.trace);
  const lines = text.split('\n');
  assert.equal(lines[0], 'initial state: small=0 big=0');
  assert.equal(lines.length, 1 + 2 * 6);
  assert.match(lines[1] as string, /^1\. fill big$/);
  assert.equal(lines[2], '   big: 0 -> 5');
  assert.match(lines.at(-1) as string, /big: \d -> 4/);
});

test("traceStates 'last': the same steps, labels and final state through two scratch states", () => {
  for (const search of [bfs, dfs]) {
    const a = search(dieHardModel(), { maxStates: 1000 });
    const b = search(dieHardModel(), { maxStates: 1000, traceStates: 'last' });
    assert.ok(a.kind === 'violation' && b.kind === 'violation');
    assert.deepEqual(b.trace.steps, a.trace.steps);
    assert.deepEqual(b.trace.labels, a.trace.labels);
    assert.deepEqual(b.trace.states.at(-1), a.trace.states.at(-1));
    assert.equal(new Set(b.trace.states).size, 3, 'two scratch states and the final one');
  }
});
