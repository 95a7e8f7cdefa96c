// Live: scripts run on this machine's /dev/kvm (skipped with the reason where the probe fails, failing
// under KVM_ORACLE=require), as one batch: two worker processes take the scripts in turn, and the
// hanging one (hlt-if0) costs its worker, which the batch replaces for the scripts after it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { type KvmRunOptions, type KvmRunResult, runScriptsOnKvm } from '../../src/oracle/backend.ts';
import { readScenarioFile, validateScenario } from '../../src/scenario/load.ts';
import { ScriptSchema } from '../../src/script/schema.ts';
import type { TranscriptRecord } from '../../src/script/transcript.ts';
import { liveSkipReason } from './live_gate.ts';

const skip: string | false = (await liveSkipReason()) ?? false;
const dir = join(import.meta.dirname, 'scripts');
const runs: Record<string, KvmRunOptions> = {
  'msr-irqchip-full-cpuid': {},
  'msr-enforce-no-features': {},
  'msr-no-irqchip': {},
  's1-wakeup-all': {},
  's1-wakeup-all@long': { guest: 'long' },
  'apf-real-fault': {},
  'apf-two-vcpus': {},
  'apf-no-retry': {},
  'hlt-if0': { hangMs: 300 },
  'apf-cpl0': {},
};
const results = new Map<string, KvmRunResult>();

before(async () => {
  if (skip) return;
  const entries = Object.entries(runs);
  const items = entries.map(([name, opts]) => {
    const file = join(dir, `${name.split('@')[0]}.yaml`);
    return {
      ...opts,
      script: validateScenario(file, readScenarioFile(file, { bigint: true }), ScriptSchema),
    };
  });
  const rs = await runScriptsOnKvm(items);
  entries.forEach(([name], i) => {
    results.set(name, rs[i]!);
  });
});

function transcript(name: string): TranscriptRecord[] {
  const r = results.get(name)!;
  assert.equal(r.status, 'ok', 'reason' in r ? r.reason : '');
  return r.status === 'ok' ? r.records : [];
}

const ok = (op: number, kind: string, value?: string): TranscriptRecord => ({
  op,
  kind,
  result: 'ok',
  ...(value === undefined ? {} : { value }),
});
const gp = (op: number, kind: string): TranscriptRecord => ({ op, kind, result: '#GP' });
const rejected = (op: number, kind: string): TranscriptRecord => ({ op, kind, result: 'rejected' });
const irq = (token: string): TranscriptRecord => ({ event: 'irq', vector: '0xec', token, flags: '0x0' });
const ack: TranscriptRecord = { event: 'ack', value: '0x1', result: 'ok' };

test('EN/INT/ACK with an irqchip and every PV feature (kvm-oracle §3 class E)', { skip }, () => {
  assert.deepEqual(transcript('msr-irqchip-full-cpuid'), [
    ok(0, 'rdmsr', '0x0'),
    gp(1, 'wrmsr'),
    gp(2, 'wrmsr'),
    ok(3, 'wrmsr'),
    ok(4, 'wrmsr'),
    ok(5, 'rdmsr', '0x3009'),
    ok(6, 'wrmsr'),
    ok(7, 'rdmsr', '0x0'),
    gp(8, 'wrmsr'),
    ok(9, 'rdmsr', '0x10009'),
    rejected(10, 'host_set_msr'),
    ok(11, 'host_get_msr', '0x10000009'),
    ok(12, 'host_set_msr'),
  ]);
});

test('PV MSRs under enforcement with no PV features: #GP for the guest, 0 for the host (class B)', {
  skip,
}, () => {
  assert.deepEqual(transcript('msr-enforce-no-features'), [
    gp(0, 'rdmsr'),
    gp(1, 'wrmsr'),
    ok(2, 'host_get_msr', '0x0'),
    ok(3, 'host_set_msr'),
    rejected(4, 'host_set_msr'),
    gp(5, 'rdmsr'),
    gp(6, 'wrmsr'),
  ]);
});

test('APF MSRs without an in-kernel LAPIC (class A)', { skip }, () => {
  assert.deepEqual(transcript('msr-no-irqchip'), [
    gp(0, 'wrmsr'),
    ok(1, 'wrmsr'),
    gp(2, 'wrmsr'),
    ok(3, 'wrmsr'),
    rejected(4, 'host_set_msr'),
  ]);
});

const s1 = [
  ok(0, 'apic_enable'),
  ok(1, 'wrmsr'),
  ok(2, 'wrmsr'),
  ok(3, 'read_mem', '0xffffffff'),
  ok(4, 'sti'),
  irq('0xffffffff'),
  ack,
  ok(5, 'run'),
  ok(6, 'read_mem', '0x0'),
];

test('S1: the wakeup-all token before STI, its interrupt after (real-mode guest)', { skip }, () => {
  assert.deepEqual(transcript('s1-wakeup-all'), s1);
  const r = results.get('s1-wakeup-all')!;
  assert.ok(r.status === 'ok' && r.guest === 'real');
});

test('S1 on the long-mode guest gives the same transcript', { skip }, () => {
  assert.deepEqual(transcript('s1-wakeup-all@long'), s1);
});

test('a real async page fault at CPL3 (backing delay 20 ms)', { skip }, () => {
  assert.deepEqual(transcript('apf-real-fault'), [
    ok(0, 'apic_enable'),
    ok(1, 'wrmsr'),
    ok(2, 'wrmsr'),
    ok(3, 'sti'),
    irq('0xffffffff'),
    ack,
    { event: '#PF', cr2: '0x1000', error_code: '0x0', flags: '0x1' },
    irq('0x1000'),
    ack,
    ok(4, 'touch'),
  ]);
  const r = results.get('apf-real-fault')!;
  assert.ok(r.status === 'ok' && r.guest === 'long');
  assert.match(r.status === 'ok' ? r.fingerprint.kernel : '', /^\d+\.\d+/);
});

test('retry: false gives up with the token; the page-ready comes during run', { skip }, () => {
  assert.deepEqual(transcript('apf-no-retry'), [
    ok(0, 'apic_enable'),
    ok(1, 'wrmsr'),
    ok(2, 'wrmsr'),
    ok(3, 'sti'),
    irq('0xffffffff'),
    ack,
    { event: '#PF', cr2: '0x1000', error_code: '0x0', flags: '0x1' },
    ok(4, 'touch', '0x1000'),
    ok(5, 'read_mem', '0x0'),
    irq('0x1000'),
    ack,
    ok(6, 'run'),
    ok(7, 'touch'),
  ]);
});

test('two vCPUs: the token of vCPU 1 is 0x1001, records carry the vCPU', { skip }, () => {
  const v = (r: TranscriptRecord): TranscriptRecord => ({ ...r, vcpu: 1 });
  assert.deepEqual(transcript('apf-two-vcpus'), [
    { op: 0, kind: 'apic_enable', vcpu: 1, result: 'ok' },
    { op: 1, kind: 'wrmsr', vcpu: 1, result: 'ok' },
    { op: 2, kind: 'wrmsr', vcpu: 1, result: 'ok' },
    { op: 3, kind: 'sti', vcpu: 1, result: 'ok' },
    v(irq('0xffffffff')),
    v(ack),
    { event: '#PF', vcpu: 1, cr2: '0x1001', error_code: '0x0', flags: '0x1' },
    v(irq('0x1001')),
    v(ack),
    { op: 4, kind: 'touch', vcpu: 1, result: 'ok' },
    { op: 5, kind: 'rdmsr', vcpu: 0, result: 'ok', value: '0x0' },
  ]);
});

test('HLT with IF = 0 is reported as a hang, with the transcript up to it', { skip }, () => {
  const r = results.get('hlt-if0')!;
  assert.equal(r.status, 'hang');
  assert.ok(r.status === 'hang' && /op 1 \(hlt\)/.test(r.reason), 'reason' in r ? r.reason : '');
  assert.deepEqual(r.status === 'hang' ? r.records : [], [
    ok(0, 'apic_enable'),
    { op: 1, kind: 'hlt', result: 'hang' },
  ]);
});

test('a CPL0 async PF is skipped on kvm_pvm, with the reason', { skip }, (t) => {
  const r = results.get('apf-cpl0')!;
  if (r.status === 'skipped') {
    assert.match(r.reason, /CPL0 async PF/);
    t.diagnostic(r.reason);
  } else {
    assert.ok(r.status === 'ok' && r.fingerprint.vendor !== 'kvm_pvm');
  }
});
