// `kvmsim explore --collapse --vcpu-symmetry` (issue 19): the collapse store keeps the same states in under
// 200 bytes each, and the vCPU symmetry finds shared-pages' interchangeable vCPUs; the verdict stays.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCliCases } from '../../test_utils/cli_cases.ts';

const file = 'examples/explore/shared-pages.yaml';
const [plain, collapse, both] = runCliCases([
  { args: ['explore', file, '--json'] },
  { args: ['explore', file, '--json', '--collapse'] },
  { args: ['explore', file, '--json', '--collapse', '--vcpu-symmetry'] },
]);

type Stats = { states: number; bytesPerState: number };
const stats = (r: { stdout: string }) => JSON.parse(r.stdout) as { verdict: string; stats: Stats };

test('--collapse: the same states and verdict, under 200 bytes per state', () => {
  const a = stats(plain!);
  const b = stats(collapse!);
  assert.equal(b.verdict, a.verdict);
  assert.equal(b.stats.states, a.stats.states);
  assert.ok(a.stats.bytesPerState > 1000, `plain: ${a.stats.bytesPerState} B/state`);
  assert.ok(b.stats.bytesPerState < 200, `collapse: ${b.stats.bytesPerState} B/state`);
});

test('--vcpu-symmetry: fewer states on a symmetric scenario, the same verdict', () => {
  const a = stats(plain!);
  const c = stats(both!);
  assert.equal(c.verdict, a.verdict);
  assert.ok(c.stats.states < 0.7 * a.stats.states, `${c.stats.states} vs ${a.stats.states}`);
});
