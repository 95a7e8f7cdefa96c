// The cover-letter claims as simulation scenarios (examples/s390/sim/claim-*.yaml, docs/s390.md "Claims"):
// each runs for its 5 seeds and every expected direction must hold for every seed. The measured figures are
// printed, so a failing direction shows its numbers.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { formatSimReport } from '../../src/sim/s390/report.ts';
import { runSimScenario } from '../../src/sim/s390/run.ts';
import { parseS390Sim } from '../../src/sim/s390/scenario.ts';

const DIR = join(import.meta.dirname, '../../examples/s390/sim');
const claims = readdirSync(DIR).filter((f) => f.startsWith('claim-') && f.endsWith('.yaml'));

test('there are four claim scenarios', () => {
  assert.deepEqual(claims.sort(), [
    'claim-none-marker.yaml',
    'claim-single-restart.yaml',
    'claim-v5-kicks.yaml',
    'claim-wait-restore.yaml',
  ]);
});

for (const name of claims) {
  test(`${name}: every expected direction holds for each of the 5 seeds`, () => {
    const file = join(DIR, name);
    const scenario = parseS390Sim(readScenarioFile(file), file);
    assert.equal(scenario.seeds?.length, 5);
    const report = runSimScenario(scenario);
    const text = formatSimReport(report, { metrics: [...new Set(report.expectations.map((e) => e.metric))] });
    console.log(text);
    assert.ok(report.expectations.length >= 3 * 5, 'each claim states at least three directions');
    const failed = report.expectations.filter((e) => !e.holds);
    assert.deepEqual(failed, [], text);
  });
}
