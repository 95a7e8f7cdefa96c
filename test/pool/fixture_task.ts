// Tasks for test/pool/pool.test.ts: a pure function of its argument, and one that fails on a chosen value.
import { ScenarioError } from '../../src/scenario/scenario_error.ts';

export function square(x: { v: number; failOn?: number }): number {
  if (x.v === x.failOn) throw new ScenarioError('fixture.yaml', `values[${x.v}]`, 'not this one');
  // A little work, so that several lanes take part.
  let s = 0;
  for (let i = 0; i < 200_000; i++) s = (s + i * x.v) % 1_000_003;
  return x.v * x.v + (s > -1 ? 0 : 1);
}
