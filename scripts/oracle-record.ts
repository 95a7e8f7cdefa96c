// Records what this host's KVM does with every oracle scenario (test/oracle/catalogue.ts) into
// test/fixtures/oracle/<kernel>-<vendor>.json, after checking that it agrees with the model: a
// disagreement is not recorded unless the scenario is a deliberate difference (test/oracle/
// differences/, whose description says why). Needs a working /dev/kvm.
//   npm run oracle:record            (node --import tsx scripts/oracle-record.ts)
import { isRecorded, oracleScenarios } from '../test/oracle/catalogue.ts';
import { type OracleFixture, recordedFingerprint, writeFixture } from '../test/oracle/fixture.ts';
import { countByGroup, disagreement, recordOf, runOracle } from '../test/oracle/oracle_run.ts';

const scenarios = oracleScenarios();
const run = await runOracle(scenarios, { env: { ...process.env, KVM_ORACLE: 'require' } });
const unavailable = run.outcomes.find((o) => o.kernel.status === 'unavailable');
if (unavailable || !run.fingerprint) {
  console.error(
    `oracle:record: the real-KVM backend is unavailable: ${unavailable?.kernel.status === 'unavailable' ? unavailable.kernel.reason : 'no fingerprint'}`,
  );
  process.exit(4);
}

const problems = run.outcomes.flatMap((o) => {
  const d = disagreement(o);
  return d ? [`${o.scenario.name}: ${d}`] : [];
});
if (problems.length) {
  console.error(`oracle:record: ${problems.length} scenario(s) disagree; nothing was written:`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}

const fixture: OracleFixture = {
  fingerprint: recordedFingerprint(run.fingerprint),
  scenarios: Object.fromEntries(
    run.outcomes.filter((o) => isRecorded(o.scenario.group)).map((o) => [o.scenario.name, recordOf(o)]),
  ),
};
const path = writeFixture(fixture);
console.log(`oracle:record: ${run.outcomes.length} scenarios (${run.distinct} distinct scripts) → ${path}`);
for (const [group, counts] of Object.entries(countByGroup(run.outcomes)))
  console.log(`  ${group.padEnd(12)} ${JSON.stringify(counts)}`);
console.log(`  kernel runs took ${run.kernelSeconds.toFixed(1)} s`);
for (const r of run.retried) console.log(`  ${r.name} agreed on attempt ${r.attempts}; first: ${r.first}`);
