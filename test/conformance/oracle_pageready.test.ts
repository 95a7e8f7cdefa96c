// kvm-oracle §4 S1–S12: the page-ready path in real mode as the real 6.18.44 kernel showed it, replayed
// from the scenario files in examples/oracle/. Each expected transcript restates the observation.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import type { TranscriptRecord } from '../../src/script/transcript.ts';

const dir = join(import.meta.dirname, '../../examples/oracle');
const run = (name: string): TranscriptRecord[] => runScript(loadScript(join(dir, `${name}.yaml`))).records;

const ok = (op: number, kind: string, value?: string): TranscriptRecord => ({
  op,
  kind,
  result: 'ok',
  ...(value ? { value } : {}),
});
const broadcast: TranscriptRecord = { event: 'irq', vector: '0xec', token: '0xffffffff', flags: '0x0' };
const ack: TranscriptRecord = { event: 'ack', value: '0x1', result: 'ok' };

test('kvm-oracle §4 S1: token written right after EN while IF=0; IRQ 0xEC after STI', () => {
  assert.deepEqual(run('s01-wakeup-all'), [
    ok(0, 'apic_enable'),
    ok(1, 'wrmsr'),
    ok(2, 'wrmsr'),
    ok(3, 'read_mem', '0xffffffff'),
    ok(4, 'sti'),
    broadcast,
    ack,
    ok(5, 'run'),
    ok(6, 'rdmsr', '0x3009'),
  ]);
});

test('kvm-oracle §4 S2: no token while the APIC is software-disabled; the SVR enable delivers it, no ACK needed', () => {
  assert.deepEqual(run('s02-svr-enable-delivers'), [
    ok(0, 'wrmsr'),
    ok(1, 'wrmsr'),
    ok(2, 'wrmsr'),
    ok(3, 'read_mem', '0x0'),
    ok(4, 'wrmsr'),
    ok(5, 'read_mem', '0xffffffff'),
    ok(6, 'sti'),
    broadcast,
    ack,
    ok(7, 'run'),
  ]);
});

test('kvm-oracle §4 S3: busy slot blocks; clear + ACK=0 does nothing; ACK=1 delivers', () => {
  assert.deepEqual(run('s03-busy-slot-ack'), [
    ok(0, 'apic_enable'),
    ok(1, 'wrmsr'),
    ok(2, 'write_mem'),
    ok(3, 'wrmsr'),
    ok(4, 'sti'),
    ok(5, 'run'),
    ok(6, 'read_mem', '0x1234'),
    ok(7, 'write_mem'),
    ok(8, 'wrmsr'),
    ok(9, 'run'),
    broadcast, // delivered at the entry right after the ACK=1 WRMSR exit
    ack,
    ok(10, 'wrmsr'),
    ok(11, 'run'),
  ]);
});

test('kvm-oracle §4 S5: every EN write while enabled queues a broadcast (3 IRQs)', () => {
  const t = run('s05-every-en-broadcasts');
  assert.equal(t.filter((r) => 'event' in r && r.event === 'irq').length, 3);
  assert.ok(t.every((r) => !('event' in r) || r.event !== 'irq' || r.token === '0xffffffff'));
});

test('kvm-oracle §4 S6: EN=0x3001 (no DELIVERY_AS_INT): no token, no IRQ', () => {
  const t = run('s06-no-int-bit');
  assert.ok(!t.some((r) => 'event' in r));
  assert.deepEqual(t.at(-1), ok(5, 'read_mem', '0x0'));
});

test('kvm-oracle §4 S7: EN before INT: token written, vector 0 never delivered, slot stays busy', () => {
  const t = run('s07-en-before-int');
  assert.ok(!t.some((r) => 'event' in r));
  assert.deepEqual(t.at(-1), ok(5, 'read_mem', '0xffffffff'));
});

test('kvm-oracle §4 S8: EN=0 after the broadcast was raised: the IRQ is still delivered after STI', () => {
  const t = run('s08-disable-keeps-irr');
  assert.deepEqual(t.slice(4), [ok(4, 'sti'), broadcast, ack, ok(5, 'run')]);
});

test('kvm-oracle §4 S9: EOI-only handler: the second broadcast waits for clear + ACK=1', () => {
  assert.deepEqual(run('s09-eoi-only-handler'), [
    ok(0, 'apic_enable'),
    ok(1, 'wrmsr'),
    ok(2, 'wrmsr'),
    ok(3, 'sti'),
    broadcast,
    ok(4, 'run'),
    ok(5, 'wrmsr'),
    ok(6, 'run'),
    ok(7, 'write_mem'),
    broadcast,
    ok(8, 'wrmsr'),
    ok(9, 'run'),
  ]);
});

test('kvm-oracle §4 S10: slot cleared without ACK; rewriting SVR (already enabled) delivers', () => {
  const t = run('s10-svr-rewrite-rescans');
  assert.deepEqual(t.slice(6), [
    ok(6, 'write_mem'),
    ok(7, 'run'),
    broadcast,
    ack,
    ok(8, 'wrmsr'),
    ok(9, 'run'),
  ]);
});

test('kvm-oracle §4 S11: two EN writes with a busy slot, then two ACKs: exactly one broadcast', () => {
  const t = run('s11-one-broadcast');
  assert.equal(t.filter((r) => 'event' in r && r.event === 'irq').length, 1);
  assert.deepEqual(t.slice(6, 9), [ok(6, 'write_mem'), broadcast, ack]);
});

test('kvm-oracle §4 S12: IRR survives a software disable: the IRQ is still delivered', () => {
  const t = run('s12-irr-survives-sw-disable');
  assert.deepEqual(t.slice(4), [ok(4, 'sti'), broadcast, ack, ok(5, 'run')]);
});
