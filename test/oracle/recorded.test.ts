// The model against what real kernels did, on every machine (no /dev/kvm needed): every fixture in
// test/fixtures/oracle/ holds one host's transcripts of the oracle scenarios, recorded by
// `npm run oracle:record`. The model's comparable() transcript must equal each recorded one, except
// for deliberate differences, where it must equal the model transcript recorded with the reason. The
// planner must still decide as it did for that host (skip with the same reason, or the same guest).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planKvmRun } from '../../src/oracle/plan.ts';
import { runScript } from '../../src/script/runner.ts';
import { comparable } from '../../src/script/transcript_diff.ts';
import { GROUPS, isRecorded, type OracleScenario, oracleScenarios, scriptHash } from './catalogue.ts';
import { loadFixtures, type OracleFixture, type Recorded, sameRecords } from './fixture.ts';
import { expectedModel, firstDifference } from './oracle_run.ts';

const fixtures = loadFixtures();
const byName = new Map(oracleScenarios().map((s) => [s.name, s]));

test('test/fixtures/oracle/ holds at least one recorded host', () => {
  assert.ok(fixtures.length > 0, 'no fixture: run `npm run oracle:record` on a host with /dev/kvm');
});

for (const { file, fixture } of fixtures) {
  test(`${file}: every recorded scenario still exists, and its script is unchanged`, () => {
    const problems: string[] = [];
    for (const [name, r] of Object.entries(fixture.scenarios)) {
      const s = byName.get(name);
      if (!s) problems.push(`${name}: no such scenario any more`);
      else if (scriptHash(s.script) !== r.script)
        problems.push(`${name}: the script changed since it was recorded`);
    }
    assert.deepEqual(
      problems,
      [],
      'stale entries: re-record with `npm run oracle:record` on a host with /dev/kvm',
    );
  });

  for (const group of GROUPS.filter(isRecorded)) {
    test(`${file} (${fixture.fingerprint.kernel}, ${fixture.fingerprint.vendor}): ${group}: the model agrees with the recorded kernel`, (t) => {
      const entries = Object.entries(fixture.scenarios).flatMap(([name, r]) => {
        const s = byName.get(name);
        return s && s.group === group && scriptHash(s.script) === r.script ? [[s, r] as const] : [];
      });
      const problems = entries.flatMap(([s, r]) => check(s, r, fixture));
      assert.deepEqual(problems, []);
      const missing = oracleScenarios().filter((s) => s.group === group && !(s.name in fixture.scenarios));
      const skipped = entries.filter(([, r]) => r.status === 'skipped').length;
      t.diagnostic(
        `${entries.length} recorded (${skipped} skipped by that host), ${missing.length} not recorded`,
      );
      for (const s of missing.slice(0, 5)) t.diagnostic(`not recorded yet: ${s.name}`);
    });
  }
}

function check(s: OracleScenario, r: Recorded, fixture: OracleFixture): string[] {
  const plan = planKvmRun(s.script, { ...fixture.fingerprint, device: '/dev/kvm' });
  if (r.status === 'skipped') {
    if (plan.run) return [`${s.name}: recorded as skipped (${r.reason}), but the planner now runs it`];
    return plan.reason === r.reason ? [] : [`${s.name}: skipped for another reason now: ${plan.reason}`];
  }
  if (!plan.run) return [`${s.name}: recorded as run, but the planner now skips it: ${plan.reason}`];
  if (r.status === 'ok' && plan.guest !== r.guest)
    return [`${s.name}: recorded on the ${r.guest} guest, the planner now picks ${plan.guest}`];
  const model = comparable(runScript(s.script).records);
  const want = expectedModel(r) ?? [];
  if (sameRecords(model, want)) return [];
  const what =
    r.status === 'ok' && r.difference !== undefined ? 'the recorded model transcript' : 'the kernel';
  return [`${s.name}: the model differs from ${what} at ${firstDifference(model, want)}`];
}
