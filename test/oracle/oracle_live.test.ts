// Live: every oracle scenario (catalogue.ts: the kvm-oracle §3 matrix, §4, §5, the x86-apf §8 cases,
// the deliberate differences, the other examples) on this machine's /dev/kvm and on the model. The
// transcripts must agree (or differ, for the deliberate differences), and the fixture recorded for
// this host must still hold. Skipped with the reason where the probe fails; a failure under
// KVM_ORACLE=require. The distinct scripts run as one batch in two worker processes (~10 s).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { oracleMode } from '../../src/oracle/probe.ts';
import { GROUPS, isRecorded, oracleScenarios } from './catalogue.ts';
import { canonical, fixtureFile, loadFixtureFor, recordedFingerprint } from './fixture.ts';
import { liveSkipReason } from './live_gate.ts';
import { countByGroup, disagreement, type OracleRun, recordOf, runOracle } from './oracle_run.ts';

const skip: string | false = (await liveSkipReason()) ?? false;
let run: OracleRun;

before(async () => {
  if (!skip) run = await runOracle(oracleScenarios());
});

const show = (problems: string[]) => problems.slice(0, 20).join('\n') + (problems.length > 20 ? '\n…' : '');

for (const group of GROUPS) {
  test(`live: ${group}: real KVM and the model give the same transcripts`, { skip }, (t) => {
    const outcomes = run.outcomes.filter((o) => o.scenario.group === group);
    const problems = outcomes.flatMap((o) => {
      const d = disagreement(o);
      return d ? [`${o.scenario.name}: ${d}`] : [];
    });
    assert.equal(problems.length, 0, show(problems));
    t.diagnostic(`${group}: ${JSON.stringify(countByGroup(outcomes)[group] ?? {})}`);
    for (const o of outcomes)
      if (o.kernel.status === 'skipped' && group !== 'matrix')
        t.diagnostic(`skipped ${o.scenario.name}: ${o.kernel.reason}`);
  });
}

test('live: the fixture recorded for this host still holds', { skip }, (t) => {
  const fp = recordedFingerprint(run.fingerprint!);
  const fixture = loadFixtureFor(fp);
  if (!fixture) {
    const why = `no test/fixtures/oracle/${fixtureFile(fp)}: record one with \`npm run oracle:record\``;
    if (oracleMode() === 'require') assert.fail(why);
    t.skip(why);
    return;
  }
  assert.deepEqual(fixture.fingerprint, fp, 'this host has changed since the recording: re-record');
  const problems: string[] = [];
  for (const o of run.outcomes) {
    if (!isRecorded(o.scenario.group)) continue;
    const was = fixture.scenarios[o.scenario.name];
    const now = recordOf(o);
    // A deliberate difference's kernel side may depend on timing (completion-without-kick: when the vCPU
    // next leaves guest mode): its model side and status must hold; a changed kernel transcript is noted.
    const loose = o.scenario.group === 'differences';
    const strip = (r: unknown) => (loose ? { ...(r as object), transcript: undefined } : r);
    if (!was) problems.push(`${o.scenario.name}: not recorded`);
    else if (canonical(strip(was)) !== canonical(strip(now)))
      problems.push(`${o.scenario.name}: recorded ${canonical(was)}, now ${canonical(now)}`);
    else if (loose && canonical(was) !== canonical(now))
      t.diagnostic(`${o.scenario.name}: the kernel's transcript differs from the recording (timing)`);
  }
  assert.equal(problems.length, 0, `${show(problems)}\nre-record with \`npm run oracle:record\``);
});

test('live: timing', { skip }, (t) => {
  t.diagnostic(
    `${run.outcomes.length} scenarios, ${run.distinct} distinct scripts on /dev/kvm in ${run.kernelSeconds.toFixed(1)} s`,
  );
  for (const r of run.retried)
    t.diagnostic(`${r.name} agreed on attempt ${r.attempts} (timing on a loaded machine); first: ${r.first}`);
});
