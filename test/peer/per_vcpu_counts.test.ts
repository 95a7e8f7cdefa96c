// issue 17: the per-vCPU filter on event counts (`expect.counts[].per_vcpu`), on
// examples/peer/per-vcpu-apf-counts.yaml: each vCPU's 'page not present' and 'page ready' stay on it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { ScenarioError } from '../../src/scenario/scenario_error.ts';
import { parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import { checkX86Expect, X86ExpectSchema } from '../../src/script/x86_expect.ts';

const file = join(import.meta.dirname, '../../examples/peer/per-vcpu-apf-counts.yaml');
const raw = () => readScenarioFile(file) as Record<string, unknown>;
const check = (expect: unknown) => {
  const s = parseScript({ ...raw(), expect }, 'per-vcpu-apf-counts');
  return checkX86Expect(s.expect!, runScript(s).records);
};

test('per_vcpu: the example holds; each vCPU counts only its own records', () => {
  const s = parseScript(raw(), 'per-vcpu-apf-counts');
  assert.deepEqual(checkX86Expect(s.expect!, runScript(s).records), []);
});

test('per_vcpu: a wrong count on one vCPU is a mismatch naming both lists', () => {
  assert.deepEqual(check({ counts: [{ event: '#PF', flags: 1, per_vcpu: [1, 2] }] }), [
    {
      at: 'expect.counts[0]',
      what: '{event: #PF, flags: 0x1}: per vCPU expected [1, 2], got [2, 1]',
    },
  ]);
  // A single-vCPU record counts as vCPU 0 there, as with `vcpu: 0`.
  const one = parseScript(
    {
      kind: 'script',
      vm: { guest_mode: 'real' },
      ops: [{ op: 'sti' }],
      expect: { counts: [{ op: 0, per_vcpu: [1] }] },
    },
    'one',
  );
  assert.deepEqual(checkX86Expect(one.expect!, runScript(one).records), []);
});

test('per_vcpu: one count per vCPU of the VM, and not with count or vcpu', () => {
  assert.throws(
    () => check({ counts: [{ event: 'irq', per_vcpu: [1] }] }),
    (e: unknown) => e instanceof ScenarioError && /expect\.counts\[0\]\.per_vcpu/.test((e as Error).message),
  );
  assert.equal(
    X86ExpectSchema.safeParse({ counts: [{ event: 'irq', count: 1, per_vcpu: [1] }] }).success,
    false,
  );
  assert.equal(
    X86ExpectSchema.safeParse({ counts: [{ event: 'irq', vcpu: 0, per_vcpu: [1] }] }).success,
    false,
  );
  assert.equal(X86ExpectSchema.safeParse({ counts: [{ event: 'irq' }] }).success, false);
});

test('tp-qemu x86_cpu_asyncpf: each vCPU of a Linux guest takes a 0xf3 interrupt at boot; none without ASYNC_PF_INT', () => {
  const file2 = join(import.meta.dirname, '../../examples/peer/tp-qemu-x86-cpu-asyncpf.yaml');
  const r = readScenarioFile(file2) as Record<string, unknown> & { vm: object };
  const s = parseScript(r, 'tp-qemu');
  assert.deepEqual(checkX86Expect(s.expect!, runScript(s).records), []);
  const old = parseScript({ ...r, vm: { ...r.vm, kvm_features: ['ASYNC_PF', 'CLOCKSOURCE2'] } }, 'tp-qemu');
  const m = checkX86Expect(old.expect!, runScript(old).records);
  assert.equal(m[0]?.what, '{event: irq, vector: 0xf3}: per vCPU expected [1, 1], got [0, 0]');
});
