// issue 17 / kvm-oracle §3 extended: every non-APF KVM PV MSR (and two unimplemented 0x4b564dxx numbers)
// in 16 configurations, guest and host side, against the cells the 6.18 kernel rules give
// (oracle_pv_msr_cases.ts). The live suite runs the same scripts on /dev/kvm (catalogue group `pvmsr`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import type { OpRecord } from '../../src/script/transcript.ts';
import { PV_MSRS, pvCasesOf, pvConfigName, pvConfigs } from './oracle_pv_msr_cases.ts';

for (const c of pvConfigs) {
  test(`PV MSR matrix: ${pvConfigName(c)}`, () => {
    for (const m of PV_MSRS)
      for (const k of pvCasesOf(c, m)) {
        const got = runScript(parseScript(k.data, 'pv-msr-matrix')).records.filter(
          (r): r is OpRecord => 'op' in r,
        );
        assert.deepEqual(
          got.map((r) => [r.result, r.value]),
          k.want,
          `${pvConfigName(c)} ${k.label}`,
        );
      }
  });
}

test('PV MSR matrix: a fresh vCPU reads MSR_KVM_POLL_CONTROL = 1 (kvm_arch_vcpu_postcreate)', () => {
  const k = pvCasesOf(pvConfigs.at(-1)!, PV_MSRS.find((m) => m.kind === 'poll')!)[0]!;
  assert.deepEqual(k.want, [
    ['ok', '0x1'],
    ['ok', '0x1'],
  ]);
});
