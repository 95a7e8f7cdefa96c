// kvm-oracle §3: the 54-configuration × 39-scenario MSR outcome matrix that the real 6.18.44 kernel
// produced, replayed on the model as script scenarios. Expected cells: test/fixtures/kvm-oracle-matrix.json
// (extracted from the spec by scripts/extract-oracle-matrix.ts). The scripts come from
// oracle_matrix_cases.ts, which the live oracle suite (test/oracle/) runs on /dev/kvm as well.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import type { OpRecord } from '../../src/script/transcript.ts';
import { casesOf, classOf, configName, configs } from './oracle_matrix_cases.ts';

test('kvm-oracle §3: the class table covers all 54 configurations', () => {
  assert.equal(configs.length, 54);
  assert.equal(new Set(configs.map(classOf)).size, 9);
});

let cells = 0;
for (const c of configs) {
  const cls = classOf(c);
  const name = configName(c);
  test(`kvm-oracle §3 class ${cls}: ${name}, all 39 scenarios`, () => {
    for (const k of casesOf(c)) {
      const script = parseScript(k.data, 'oracle-matrix');
      const got = runScript(script).records.filter((r): r is OpRecord => 'op' in r);
      assert.deepEqual(
        got.map((r) => [r.result, r.value]),
        k.expect.want
          .map(([res, v]) => [res, res === 'ok' && v !== undefined ? v : undefined])
          .map(([res, v]) => [res, v]),
        `${name} (class ${cls}) ${k.expect.label}: cell "${k.cell}"`,
      );
      cells++;
    }
  });
}

test('kvm-oracle §3: 54 × 39 cells compared', () => {
  assert.equal(cells, 54 * 39);
});
