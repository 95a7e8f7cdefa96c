// issue 17: each examples/peer/ script states one assertion of a peer test suite or VMM report
// (docs/peer-suites.md); these tests hold the model to it. The live oracle suite runs the same files on
// /dev/kvm (catalogue group `peer`), where the kvm backend can.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import type { OpRecord, TranscriptRecord } from '../../src/script/transcript.ts';

const dir = join(import.meta.dirname, '../../examples/peer');
// The raw scenario (sizes with their units), edited, then parsed as the loader would.
const run = (name: string, edit: (raw: Record<string, unknown>) => Record<string, unknown> = (r) => r) => {
  const raw = readScenarioFile(join(dir, `${name}.yaml`)) as Record<string, unknown>;
  return runScript(parseScript(edit(raw), name)).records;
};
const ops = (r: TranscriptRecord[]) =>
  r.filter((x): x is OpRecord => 'op' in x).map((x) => (x.value ? `${x.result} ${x.value}` : x.result));
const ENOSYS64 = '0xfffffffffffffc18';

test('kvm_pv_test test_msr: every PV MSR #GPs on RDMSR and WRMSR(0) with enforcement and eax 0', () => {
  assert.deepEqual(ops(run('kvm-pv-test-msrs')), Array(20).fill('#GP'));
});

test('kvm_pv_test test_hcall: the gated hypercalls return -KVM_ENOSYS; an ungated one 0', () => {
  assert.deepEqual(ops(run('kvm-pv-test-hcall')), [
    `ok ${ENOSYS64}`,
    `ok ${ENOSYS64}`,
    `ok ${ENOSYS64}`,
    'ok 0x0',
    `ok ${ENOSYS64}`,
  ]);
  // With the features present they succeed: the gate is what the test checks.
  assert.deepEqual(ops(run('kvm-pv-test-hcall-allowed')), [
    'ok 0x0',
    'ok 0x0',
    'ok 0xffffffffffffffea',
    'ok 0x0',
    `ok ${ENOSYS64}`,
  ]);
});

test('kvm_pv_test test_pv_unhalt: hlt_in_guest clears PV_UNHALT from CPUID 0x40000001', () => {
  const r = ops(run('kvm-pv-test-cpuid'));
  assert.deepEqual(r, ['ok 0x40000001', 'ok 0x4b4d564b', 'ok 0x564b4d56', 'ok 0x4d', 'ok 0x4018', 'ok 0x0']);
  const exits = ops(
    run('kvm-pv-test-cpuid', (raw) => ({ ...raw, vm: { ...(raw.vm as object), hlt_in_guest: false } })),
  );
  assert.equal(exits[4], 'ok 0x4098', 'with HLT exiting the bit stays');
});

test('MSR_KVM_POLL_CONTROL: reset 1, only bit 0 defined, host writes read back', () => {
  assert.deepEqual(ops(run('poll-control')), [
    'ok 0x1',
    'ok 0x1',
    '#GP',
    'rejected',
    'ok',
    'ok 0x0',
    'ok',
    'ok 0x1',
  ]);
});

test('PV MSR readback: kvmclock takes any value, steal time and PV EOI check their bits', () => {
  assert.deepEqual(ops(run('pv-msr-readback')), [
    'ok',
    'ok 0x5001',
    'ok',
    'ok 0x10000000',
    'ok',
    '#GP',
    'ok 0x10000001',
    'ok',
    '#GP',
    '#GP',
    'ok 0x5001',
  ]);
});

test('QEMU kvm_put_msrs: KVM_SET_MSRS stops at the INT value written into EN and returns 1 of 3', () => {
  assert.deepEqual(ops(run('qemu-put-msrs-int-into-en')), [
    'ok 0x1',
    'ok 0x1',
    'ok 0x3',
    'ok 0x3009',
    'ok 0x0',
  ]);
});

test('Firecracker #3164/#5738: an unimplemented 0x4b564dxx stops the restore; POLL_CONTROL keeps its reset 1', () => {
  assert.deepEqual(ops(run('firecracker-msr-range')), ['ok 0x2', 'ok 0x0', 'ok 0x5001', 'ok 0x1']);
});

test('KVM_SET_LAPIC with SPIV enabled rescans: the waiting wakeup-all is delivered (2f15d027c05f)', () => {
  const r = run('set-lapic-rescan');
  const i = r.findIndex((x) => 'event' in x && x.event === 'irq');
  const set = r.findIndex((x) => 'kind' in x && x.kind === 'host_set_lapic');
  assert.ok(i > set && set >= 0, 'the interrupt comes after the restore');
  // 5.12 as released has no rescan and no gate: the wakeup-all was dequeued (and dropped) at once.
  const old = run('set-lapic-rescan', (raw) => ({ ...raw, era: '5.12' }));
  assert.equal(
    old.findIndex((x) => 'event' in x && x.event === 'irq'),
    -1,
  );
});

test('Cloud Hypervisor #2277: 5.10 as released hangs a direct-booted guest; the fix or firmware LAPIC do not', () => {
  const tasks = (r: TranscriptRecord[]) =>
    r.filter((x) => 'task' in x).map((x) => (x as { result: string }).result);
  assert.deepEqual(tasks(run('cloud-hypervisor-2277')), ['hung', 'finished']);
  const fixed = run('cloud-hypervisor-2277', (raw) => ({
    ...raw,
    vm: { ...(raw.vm as object), lapic_dequeue_gate: true },
  }));
  assert.deepEqual(tasks(fixed), ['finished', 'finished']);
  assert.deepEqual(tasks(run('cloud-hypervisor-2277-firmware')), ['finished', 'finished']);
  // 5.13 has 2f15d027c05f.
  assert.deepEqual(tasks(run('cloud-hypervisor-2277', (raw) => ({ ...raw, era: '5.13' }))), [
    'finished',
    'finished',
  ]);
});
