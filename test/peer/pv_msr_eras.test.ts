// The PV MSRs across eras (src/host/x86/pv_msrs.ts, era.ts), as read in the release trees: POLL_CONTROL
// from 5.3, STEAL_TIME mapped at write time up to 5.4, PV_EOI_EN stored before it is validated up to 5.15.
// Each rule is shown by a script whose answer differs between an era before and an era after it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import type { OpRecord } from '../../src/script/transcript.ts';

const run = (era: string, ops: Array<Record<string, unknown>>) =>
  runScript(
    parseScript({ kind: 'script', era, vm: { memory: '64KiB', guest_mode: 'real' }, ops }, `<${era}>`),
  )
    .records.filter((r): r is OpRecord => 'op' in r)
    .map((r) => (r.value ? `${r.result} ${r.value}` : r.result));

const HIGH = '0xfff0000000005001'; // enabled, an address in no memslot

test('MSR_KVM_POLL_CONTROL exists from 5.3 (absent in 5.2, reset 1 in 5.7)', () => {
  const ops = [{ op: 'rdmsr', msr: 'MSR_KVM_POLL_CONTROL' }];
  assert.deepEqual(run('5.2', ops), ['#GP']);
  assert.deepEqual(run('5.7', ops), ['ok 0x1']);
});

test('MSR_KVM_STEAL_TIME: ≤5.4 the write maps the area and fails without it; from 5.5 it is taken', () => {
  const ops = [
    { op: 'wrmsr', msr: 'MSR_KVM_STEAL_TIME', value: HIGH },
    { op: 'rdmsr', msr: 'MSR_KVM_STEAL_TIME' },
  ];
  assert.deepEqual(run('5.2', ops), ['#GP', 'ok 0x0']);
  assert.deepEqual(run('5.7', ops), ['ok', `ok ${HIGH}`]);
  // Reserved bits 1-5 #GP in every era.
  assert.deepEqual(run('5.2', [{ op: 'wrmsr', msr: 'MSR_KVM_STEAL_TIME', value: '0x5003' }]), ['#GP']);
});

test('MSR_KVM_PV_EOI_EN: ≤5.15 a refused enable still reads back; from 5.17 the old value stays', () => {
  const ops = [
    { op: 'wrmsr', msr: 'MSR_KVM_PV_EOI_EN', value: HIGH },
    { op: 'wrmsr', msr: 'MSR_KVM_PV_EOI_EN', value: HIGH },
    { op: 'rdmsr', msr: 'MSR_KVM_PV_EOI_EN' },
  ];
  assert.deepEqual(run('5.15', ops), ['#GP', '#GP', `ok ${HIGH}`]);
  assert.deepEqual(run('6.1', ops), ['#GP', '#GP', 'ok 0x0']);
  // Misalignment is refused before anything is stored, in every era.
  const mis = [
    { op: 'wrmsr', msr: 'MSR_KVM_PV_EOI_EN', value: '0x5002' },
    { op: 'rdmsr', msr: 'MSR_KVM_PV_EOI_EN' },
  ];
  assert.deepEqual(run('5.15', mis), ['#GP', 'ok 0x0']);
});

test('INIT zeroes SYSTEM_TIME and STEAL_TIME and keeps POLL_CONTROL and the per-VM wall clock', () => {
  const r = run('6.18', [
    { op: 'wrmsr', msr: 'MSR_KVM_SYSTEM_TIME_NEW', value: '0x5001' },
    { op: 'wrmsr', msr: 'MSR_KVM_STEAL_TIME', value: '0x5041' },
    { op: 'wrmsr', msr: 'MSR_KVM_POLL_CONTROL', value: 0 },
    { op: 'wrmsr', msr: 'MSR_KVM_WALL_CLOCK_NEW', value: '0x6000' },
    { op: 'init' },
    { op: 'host_get_msr', msr: 'MSR_KVM_SYSTEM_TIME_NEW' },
    { op: 'host_get_msr', msr: 'MSR_KVM_STEAL_TIME' },
    { op: 'host_get_msr', msr: 'MSR_KVM_POLL_CONTROL' },
    { op: 'host_get_msr', msr: 'MSR_KVM_WALL_CLOCK_NEW' },
  ]);
  assert.deepEqual(r.slice(5), ['ok 0x0', 'ok 0x0', 'ok 0x0', 'ok 0x6000']);
});
