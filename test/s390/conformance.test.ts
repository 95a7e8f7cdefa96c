// The 33 conformance cases of the s390 GISA/GIB spec (§8). Most are script scenarios under cases/ (so the same
// behaviour can be checked from the CLI); each script checks itself with `expect` ops and `want:` results, and
// the tests below add the facts only a transcript shows (events, return values). Cases 8 and 9 are unit tests
// of gisa_get_ipm_or_restore_iam, which has no script op of its own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gisa_get_ipm_or_restore_iam } from '../../src/s390/gisa.ts';
import { setupWorld } from '../../src/s390/vm.ts';
import { eventsNamed, eventsOf, opLine, runCase } from './helpers.ts';

const xchgs = (lines: ReturnType<typeof runCase>, op: number) =>
  eventsNamed(lines, op, 'xchg').map((e) => `${e.stored}<-${e.returned}`);

// s390-gib §8 case 1
test('s390-gib §8 case 1: gisc_register on a VM without GISA → -ENODEV, no state change', () => {
  const lines = runCase('case_01_register_no_gisa.yaml');
  assert.equal(opLine(lines, 4).result, '-ENODEV');
  assert.deepEqual(eventsOf(lines, 4), []);
});

// s390-gib §8 case 2
test('s390-gib §8 case 2: gisc_register(gisc=8) → -ERANGE', () => {
  const lines = runCase('case_02_register_erange.yaml');
  assert.equal(opLine(lines, 2).result, '-ERANGE');
});

// s390-gib §8 case 3
test('s390-gib §8 case 3: first gisc_register(6) → ref 1, mask 0x02, IAM 0x02, returns GAL_ISC 5', () => {
  const lines = runCase('case_03_04_register_refcount.yaml');
  assert.equal(opLine(lines, 2).rc, 5);
  assert.deepEqual(
    eventsNamed(lines, 2, 'gisa_set_iam').map((e) => [e.iam, e.rc]),
    [['0x02', 'ok']],
  );
});

// s390-gib §8 case 4
test('s390-gib §8 case 4: second gisc_register(6) → ref 2, mask/IAM unchanged, no IAM write', () => {
  const lines = runCase('case_03_04_register_refcount.yaml');
  assert.equal(opLine(lines, 4).rc, 5);
  assert.deepEqual(eventsNamed(lines, 4, 'gisa_set_iam'), []);
});

// s390-gib §8 case 5
test('s390-gib §8 case 5: gisc_register while listed keeps IAM 0; the next restore sets IAM=0x02', () => {
  const lines = runCase('case_05_register_while_listed.yaml');
  assert.equal(opLine(lines, 6).rc, 5);
  assert.deepEqual(
    eventsNamed(lines, 6, 'gisa_set_iam').map((e) => e.rc),
    ['-EBUSY'],
  );
  assert.deepEqual(
    eventsNamed(lines, 9, 'iam_restored').map((e) => e.iam),
    ['0x02'],
  );
});

// s390-gib §8 case 6
test('s390-gib §8 case 6: gisc_unregister(3) with ref_count 0 → -EINVAL, nothing changes', () => {
  const lines = runCase('case_06_07_unregister.yaml');
  assert.equal(opLine(lines, 3).result, '-EINVAL');
  assert.deepEqual(eventsOf(lines, 3), []);
});

// s390-gib §8 case 7
test('s390-gib §8 case 7: gisc_unregister(6) of the last ref → mask 0, IAM 0, returns 0', () => {
  const lines = runCase('case_06_07_unregister.yaml');
  assert.equal(opLine(lines, 5).result, 'ok');
  assert.equal(opLine(lines, 5).rc, undefined);
});

// s390-gib §8 case 8
test('s390-gib §8 case 8: gisa_get_ipm_or_restore_iam with IPM=0x02, mask=0x02 → 0x02, IAM unchanged', () => {
  const w = setupWorld({}, [{ name: 'a', vcpu_ids: [0], gisc: [6] }]);
  const vm = w.vms[0]!;
  vm.gisa.ipm = 0x02;
  vm.gisa.iam = 0x00;
  assert.equal(gisa_get_ipm_or_restore_iam(w, vm, 'test'), 0x02);
  assert.equal(vm.gisa.iam, 0x00);
  assert.equal(vm.gisa.ipm, 0x02);
});

// s390-gib §8 case 9
test('s390-gib §8 case 9: IPM=0x01 (software AI, ISC 7), mask=0x02 → 0, IAM := 0x02, IPM still 0x01', () => {
  const w = setupWorld({}, [{ name: 'a', vcpu_ids: [0], gisc: [6] }]);
  const vm = w.vms[0]!;
  vm.gisa.ipm = 0x01;
  vm.gisa.iam = 0x00;
  assert.equal(gisa_get_ipm_or_restore_iam(w, vm, 'test'), 0);
  assert.equal(vm.gisa.iam, 0x02);
  assert.equal(vm.gisa.ipm, 0x01);
});

// s390-gib §8 case 10
test('s390-gib §8 case 10: list A→B→NULL → both unlinked, both kickers at 0, origin NULL, 3 xchgs', () => {
  const lines = runCase('case_10_alert_list_two.yaml');
  assert.deepEqual(xchgs(lines, 10), ['NONE<-0x00200900(A)', 'NONE<-NONE', 'NULL<-NONE']);
  assert.deepEqual(
    eventsNamed(lines, 10, 'unlink').map((e) => e.vm),
    ['A', 'B'],
  );
  assert.deepEqual(
    eventsNamed(lines, 10, 'kicker_started').map((e) => [e.vm, e.delay_ns]),
    [
      ['A', 0],
      ['B', 0],
    ],
  );
  assert.deepEqual(eventsNamed(lines, 10, 'gisa_set_iam'), []);
});

// s390-gib §8 case 11
test('s390-gib §8 case 11: C linked after xchg#1 → no GAL; xchg#2 returns C; xchg#3 stores NULL', () => {
  const lines = runCase('case_11_alert_during_processing.yaml');
  assert.deepEqual(xchgs(lines, 6), ['NONE<-0x00200900(A)']);
  assert.deepEqual(
    eventsNamed(lines, 8, 'alert').map((e) => [e.next_alert, e.gal]),
    [['NONE', false]],
  );
  assert.deepEqual(xchgs(lines, 10), ['NONE<-0x00201900(C)', 'NULL<-NONE']);
  assert.deepEqual(
    eventsNamed(lines, 10, 'unlink').map((e) => e.vm),
    ['A', 'C'],
  );
});

// s390-gib §8 case 12
test('s390-gib §8 case 12: spurious GAL → NONE (ret NULL), NONE (ret NONE), NULL; no timers', () => {
  const lines = runCase('case_12_spurious_gal.yaml');
  assert.deepEqual(xchgs(lines, 3), ['NONE<-NULL', 'NONE<-NONE', 'NULL<-NONE']);
  assert.deepEqual(eventsNamed(lines, 3, 'kicker_started'), []);
});

// s390-gib §8 case 13
test('s390-gib §8 case 13: kicker wakes only idx2 (I/O on, CR6 has ISC 6), sets kicked bit 2, +50 µs, RESTART', () => {
  const lines = runCase('case_13_15_kicker_single_kick.yaml');
  const tick = opLine(lines, 15);
  assert.deepEqual(tick.fired, [{ t: 0, timer: 'kicker:a', result: 'ok', ret: 'RESTART' }]);
  assert.deepEqual(tick.woken, ['a/2']);
});

// s390-gib §8 case 14
test('s390-gib §8 case 14: pre-F3 the CR6 0x80 candidate clobbers deliverable_mask → nobody woken, RESTART', () => {
  const lines = runCase('case_14_kick_pre_f3.yaml');
  const tick = opLine(lines, 14);
  assert.deepEqual(tick.fired, [{ t: 0, timer: 'kicker:a', result: 'ok', ret: 'RESTART' }]);
  assert.equal(tick.woken, undefined);
  assert.equal(eventsNamed(lines, 14, 'kick_no_candidate').length, 1);
});

// s390-gib §8 case 15
test('s390-gib §8 case 15: kicked_mask[2] already set → no wake-up at all, RESTART', () => {
  const lines = runCase('case_13_15_kicker_single_kick.yaml');
  const tick = opLine(lines, 20);
  assert.deepEqual(tick.fired, [{ t: 50000, timer: 'kicker:a', result: 'ok', ret: 'RESTART' }]);
  assert.equal(tick.woken, undefined);
  assert.deepEqual(
    eventsNamed(lines, 20, 'kick_in_flight').map((e) => e.vcpu),
    ['a/2'],
  );
});

// s390-gib §8 case 16
test('s390-gib §8 case 16: kicker with IPM&mask == 0 → IAM restored to mask, NORESTART', () => {
  const lines = runCase('case_16_kicker_norestart.yaml');
  assert.deepEqual(opLine(lines, 8).fired, [{ t: 0, timer: 'kicker:a', result: 'ok', ret: 'NORESTART' }]);
  assert.deepEqual(
    eventsNamed(lines, 8, 'iam_restored').map((e) => [e.iam, e.via]),
    [['0x02', 'gisa_vcpu_kicker']],
  );
});

// s390-gib §8 case 17
test('s390-gib §8 case 17: handle_wait with registered ISC 6 pending and enabled → returns 0, not idle', () => {
  const lines = runCase('case_17_wait_gisa_pending.yaml');
  assert.equal(opLine(lines, 8).path, 'gisa_pending');
  assert.equal(opLine(lines, 11).path, 'runnable');
  assert.deepEqual(eventsNamed(lines, 8, 'iam_restored'), []);
});

// s390-gib §8 case 18
test('s390-gib §8 case 18: handle_wait with nothing pending → IAM := mask, idle + CPUSTAT_WAIT, cleared on wake', () => {
  const lines = runCase('case_18_wait_blocks.yaml');
  assert.equal(opLine(lines, 7).result, 'blocked');
  assert.equal(opLine(lines, 10).halt, 'exit');
});

// s390-gib §8 case 19
test('s390-gib §8 case 19: disabled wait → -EOPNOTSUPP before any IAM restore', () => {
  const lines = runCase('case_19_disabled_wait.yaml');
  assert.equal(opLine(lines, 5).result, '-EOPNOTSUPP');
  assert.deepEqual(eventsNamed(lines, 5, 'iam_restored'), []);
});

// s390-gib §8 case 20
test('s390-gib §8 case 20: software AI with GISA → IPM only, first idle vCPU woken without CPUSTAT_IO_INT', () => {
  const lines = runCase('case_20_inject_ai_gisa.yaml');
  assert.deepEqual(opLine(lines, 4).woken, ['a/1']);
  assert.deepEqual(
    eventsNamed(lines, 4, 'floating_kick').map((e) => [e.target, e.cpustat_io_int]),
    [['a/1', false]],
  );
});

// s390-gib §8 case 21
test('s390-gib §8 case 21: the same AI without GISA → classic ISC 3 list, counter, CPUSTAT_IO_INT', () => {
  const lines = runCase('case_21_inject_ai_no_gisa.yaml');
  assert.deepEqual(
    eventsNamed(lines, 4, 'floating_kick').map((e) => [e.target, e.cpustat_io_int]),
    [['a/1', true]],
  );
});

// s390-gib §8 case 22
test('s390-gib §8 case 22: __deliver_io(3) with classic + IPM → classic delivered, IPM stays 0x10', () => {
  const lines = runCase('case_22_23_deliver_io.yaml');
  assert.equal(opLine(lines, 5).delivered, 'classic');
});

// s390-gib §8 case 23
test('s390-gib §8 case 23: __deliver_io(3) with only IPM 0x10 → io_int_word 0x98000000, IPM 0', () => {
  const lines = runCase('case_22_23_deliver_io.yaml');
  assert.equal(opLine(lines, 7).delivered, 'gisa');
  assert.deepEqual(
    eventsNamed(lines, 7, 'deliver_io').map((e) => e.io_int_word),
    ['0x98000000'],
  );
});

// s390-gib §8 case 24
test('s390-gib §8 case 24: TPI with classic ISC 2 and IPM ISC 5 → classic returned, IPM bit 5 restored', () => {
  const lines = runCase('case_24_25_tpi.yaml');
  const tpi = opLine(lines, 4);
  assert.deepEqual([tpi.got, tpi.isc], ['classic', 2]);
  assert.deepEqual(
    eventsNamed(lines, 4, 'ipm_restored_bit').map((e) => e.isc),
    [5],
  );
});

// s390-gib §8 case 25
test('s390-gib §8 case 25: TPI with classic ISC 5 and IPM ISC 2 → AI(ISC 2), classic re-injected with a kick', () => {
  const lines = runCase('case_24_25_tpi.yaml');
  const tpi = opLine(lines, 13);
  assert.deepEqual([tpi.got, tpi.isc], ['ai', 2]);
  assert.deepEqual(
    eventsNamed(lines, 13, 'reinject').map((e) => e.isc),
    [5],
  );
  assert.equal(eventsNamed(lines, 13, 'floating_kick').length, 1);
});

// s390-gib §8 case 26
test('s390-gib §8 case 26: one-record migration read of IPM 0x80 → ISC 0 consumed, -ENOMEM, nothing copied', () => {
  const lines = runCase('case_26_migrate_read.yaml');
  const read = opLine(lines, 4);
  assert.equal(read.result, '-ENOMEM');
  assert.deepEqual(read.consumed_ipm_iscs, [0]);
  assert.equal(read.irqs, undefined);
});

// s390-gib §8 case 27
test('s390-gib §8 case 27: pre-6.6 destroy of a listed GISA never returns without alert activity', () => {
  const lines = runCase('case_27_destroy_stall_pre66.yaml');
  assert.equal(opLine(lines, 5).result, 'stall');
  assert.equal(eventsNamed(lines, 5, 'destroy_busy_wait').length, 1);
  assert.deepEqual(opLine(lines, 8).gisa_destroyed, ['a']);
});

// s390-gib §8 case 28
test('s390-gib §8 case 28: ≥6.6 destroy → WARN, mask 0, list processed, timer cancelled, origin NULL', () => {
  const lines = runCase('case_28_destroy_fixed.yaml');
  assert.equal(opLine(lines, 5).result, 'ok');
  assert.equal(eventsNamed(lines, 5, 'WARN').length, 1);
  assert.deepEqual(xchgs(lines, 5), ['NONE<-0x00200900(a)', 'NONE<-NONE', 'NULL<-NONE']);
});

// s390-gib §8 case 29
test('s390-gib §8 case 29: gisa_clear while listed (IPM 0x12) → IPM 0, next_alert and IAM unchanged', () => {
  const lines = runCase('case_29_gisa_clear_listed.yaml');
  assert.equal(opLine(lines, 7).result, 'ok');
});

// s390-gib §8 case 30
test('s390-gib §8 case 30: gib_init without AIV → 0 and no GIB; gisa_init no-op; register → -ENODEV', () => {
  const lines = runCase('case_30_no_aiv.yaml');
  assert.equal(opLine(lines, 1).result, 'ok');
  assert.deepEqual(
    eventsNamed(lines, 1, 'log').map((e) => e.msg),
    ['gib not initialized, no AIV facility'],
  );
  assert.equal(opLine(lines, 3).origin, 'NULL');
  assert.equal(opLine(lines, 5).result, '-ENODEV');
});

// s390-gib §8 case 31
test('s390-gib §8 case 31: CHSC set-GIB failure → -EIO, adapter interrupt unregistered, gib NULL', () => {
  const lines = runCase('case_31_chsc_failure.yaml');
  assert.equal(opLine(lines, 1).result, '-EIO');
});

// s390-gib §8 case 32
test('s390-gib §8 case 32: post-F2 a kicked vCPU that sleeps again is kickable; pre-F2 it is skipped', () => {
  const fixed = runCase('case_32a_kicked_mask_f2.yaml');
  assert.equal(opLine(fixed, 10).halt, 'sleep');
  assert.deepEqual(opLine(fixed, 14).woken, ['a/0']);
  const buggy = runCase('case_32b_kicked_mask_pre_f2.yaml');
  assert.equal(opLine(buggy, 10).halt, 'sleep');
  assert.equal(opLine(buggy, 14).woken, undefined);
  assert.equal(eventsNamed(buggy, 14, 'kick_in_flight').length, 1);
});

// s390-gib §8 case 33
test('s390-gib §8 case 33: vcpu_id 7 at vcpu_idx 0 idles → idle_mask bit 0 (post-F1) vs bit 7 (5.2)', () => {
  const fixed = runCase('case_33a_idle_mask_vcpu_idx.yaml');
  assert.equal(eventsNamed(fixed, 4, 'halt')[0]!.idle_mask_bit, 0);
  assert.deepEqual(opLine(fixed, 8).woken, ['a/0']);
  const buggy = runCase('case_33b_idle_mask_vcpu_id.yaml');
  assert.equal(eventsNamed(buggy, 4, 'halt')[0]!.idle_mask_bit, 7);
  assert.equal(opLine(buggy, 8).woken, undefined);
});
