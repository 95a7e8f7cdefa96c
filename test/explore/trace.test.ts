import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bfs } from '../../src/explore/bfs.ts';
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
