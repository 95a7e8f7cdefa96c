import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NONE_GISA_ADDR, NULL_GISA_ADDR } from '../../src/abi/s390_gisa.ts';
import { alertWalkStep, gib_alert_irq_handler, process_gib_alert_list } from '../../src/s390/alert_list.ts';
import { gisa_in_alert_list } from '../../src/s390/gisa.ts';
import { firmware_ai } from '../../src/s390/millicode.ts';
import { applyStep } from '../../src/s390/steps.ts';
import { kvm_arch_destroy_vm, setupWorld } from '../../src/s390/vm.ts';
import {
  type S390World,
  UAF_KICK,
  UAF_UNLINK,
  VCPU_HALTED,
  WALK_IDLE,
  WALK_KICK,
  WALK_UNLINK,
} from '../../src/s390/world.ts';

const twoVms = (strategy: 'current' | 'v3' | 'v5' = 'current') =>
  setupWorld({ strategy }, [
    { name: 'A', vcpu_ids: [0, 1], gisc: [6] },
    { name: 'B', vcpu_ids: [0], gisc: [6] },
  ]);

const step = (w: S390World) => alertWalkStep(w, w.walk, 'test');
const xchgEvents = (w: S390World) =>
  w.events.filter((e) => e.event === 'xchg').map((e) => `${e.stored}<-${e.returned}`);

test('millicode links at the head and raises a GAL only when the origin was NULL (H3)', () => {
  const w = twoVms();
  const [A, B] = w.vms as [NonNullable<(typeof w.vms)[0]>, NonNullable<(typeof w.vms)[0]>];
  assert.equal(firmware_ai(w, B, 6), 'alerted');
  assert.equal(firmware_ai(w, A, 6), 'alerted_no_gal');
  assert.equal(w.gib!.alert_list_origin, A.gisa_addr);
  assert.equal(A.gisa.next_alert, B.gisa_addr);
  assert.equal(B.gisa.next_alert, NULL_GISA_ADDR);
  assert.equal(w.stat.gal_raised, 1);
});

test('a listed GISA is not linked twice (H4) and an IAM without the ISC does not alert', () => {
  const w = twoVms();
  const A = w.vms[0]!;
  firmware_ai(w, A, 6);
  assert.equal(firmware_ai(w, A, 6), 'listed');
  assert.equal(firmware_ai(w, w.vms[1]!, 3), 'iam_clear');
  assert.equal(w.stat.gal_raised, 1);
});

test('a GISA linked between xchg#2 and the final xchg is collected by the final iteration without a GAL', () => {
  const w = twoVms();
  const [A, B] = [w.vms[0]!, w.vms[1]!];
  firmware_ai(w, A, 6);
  gib_alert_irq_handler(w);
  step(w); // xchg#1 → A
  step(w); // unlink A
  step(w); // container_of + start A's kicker
  step(w); // xchg#2 → NONE
  assert.equal(w.gib!.alert_list_origin, NONE_GISA_ADDR);
  assert.equal(firmware_ai(w, B, 6), 'alerted_no_gal');
  while (w.walk.phase !== WALK_IDLE) step(w);
  assert.deepEqual(xchgEvents(w), ['NONE<-0x00200900(A)', 'NONE<-NONE', 'NULL<-0x00201900(B)']);
  assert.equal(gisa_in_alert_list(B), false);
  assert.equal(w.gal_pending, false);
});

test('a GISA linked after the final xchg stored NULL raises a new GAL', () => {
  const w = twoVms();
  const [A, B] = [w.vms[0]!, w.vms[1]!];
  firmware_ai(w, A, 6);
  gib_alert_irq_handler(w);
  for (let i = 0; i < 5; i++) step(w); // xchg, unlink, kick, xchg, final xchg (NULL stored)
  assert.equal(w.walk.phase, WALK_IDLE);
  assert.equal(firmware_ai(w, B, 6), 'alerted');
  assert.equal(w.gal_pending, true);
});

test('process_gib_alert_list as a whole: one GISA costs three exchanges', () => {
  const w = twoVms();
  firmware_ai(w, w.vms[0]!, 6);
  assert.equal(process_gib_alert_list(w, 'test'), 3);
  assert.equal(w.gib!.alert_list_origin, NULL_GISA_ADDR);
});

test('the interrupt walk refuses to start twice and gal_step needs a running walk', () => {
  const w = twoVms();
  assert.equal(applyStep(w, { kind: 'gal_step' }).result, 'invalid');
  applyStep(w, { kind: 'gal_irq' });
  assert.equal(applyStep(w, { kind: 'gal_irq' }).result, 'invalid');
});

test('v5: unlinking kicks a covering set of idle vCPUs; v3: one vCPU, idle first', () => {
  for (const [strategy, woken] of [
    ['v5', ['A/0', 'A/1']],
    ['v3', ['A/0']],
  ] as const) {
    const w = twoVms(strategy);
    const A = w.vms[0]!;
    for (const v of A.vcpus) {
      applyStep(w, { kind: 'enter_sie', vm: 0, vcpu: v.vcpu_idx });
      applyStep(w, { kind: 'wait', vm: 0, vcpu: v.vcpu_idx });
      assert.equal(v.state, VCPU_HALTED);
    }
    A.vcpus[0]!.cr6 = 0x10; // ISC 3 only
    A.vcpus[1]!.cr6 = 0x02; // ISC 6 only
    A.gi.mask = 0x12;
    A.gisa.iam = 0x12;
    firmware_ai(w, A, 3);
    A.gisa.ipm |= 0x02;
    w.events.length = 0;
    process_gib_alert_list(w, 'test');
    const got = w.events.filter((e) => e.event === 'wakeup').map((e) => e.vcpu);
    assert.deepEqual(got, woken, strategy);
  }
});

// s390-gib O11 step c: the unlink store and the container_of(gisa, struct sie_page2, gisa)->kvm read + kicker
// start are separate accesses in the kernel (arch/s390/kvm/interrupt.c, 002c6ca75289 and 2519003dd5fb).
test('O11 step c: the unlink store and the kicker start are separate micro-steps', () => {
  const w = twoVms();
  const A = w.vms[0]!;
  firmware_ai(w, A, 6);
  gib_alert_irq_handler(w);
  step(w); // xchg#1 → A
  assert.equal(w.walk.phase, WALK_UNLINK);
  step(w); // unlink A: next_alert := own address, nothing else yet
  assert.equal(w.walk.phase, WALK_KICK);
  assert.equal(w.walk.cur, A.gisa_addr);
  assert.equal(gisa_in_alert_list(A), false);
  assert.equal(A.gi.timer_at, -1, 'the kicker starts only in the next micro-step');
  step(w); // container_of + hrtimer_start
  assert.equal(A.gi.timer_at, w.now);
  assert.equal(w.walk.cur, 0);
  assert.notEqual(w.walk.phase, WALK_KICK);
});

// s390-gib §6 item 11, ≥6.6: destroy's own walk cannot see a GISA another CPU's walk has cut off.
test("§6 item 11 (≥6.6): a walk holding a destroyed VM's GISA unlinks it in freed memory", () => {
  const w = twoVms();
  const A = w.vms[0]!;
  firmware_ai(w, A, 6);
  gib_alert_irq_handler(w);
  step(w); // xchg#1: A is on this walk's private chain
  assert.equal(kvm_arch_destroy_vm(w, A), 'ok', 'F5 destroy does not wait for the other walk');
  assert.equal(A.walk_uaf, 0);
  step(w); // unlink A: reads and writes next_alert in the freed sie_page2
  assert.equal(A.walk_uaf, UAF_UNLINK);
  step(w); // container_of(...)->kvm from the freed page, and the kicker started
  assert.equal(A.walk_uaf, UAF_UNLINK | UAF_KICK);
  assert.ok(w.events.some((e) => e.event === 'use_after_free' && e.vm === 'A'));
});

// s390-gib §6 item 11, pre-6.6: the busy-wait ends at the unlink store, one access too early.
test('§6 item 11 (pre-6.6): the busy-wait returns between the unlink and the ->kvm read', () => {
  const w = setupWorld({ strategy: 'current', fixes: { F5: false } }, [
    { name: 'A', vcpu_ids: [0, 1], gisc: [6] },
    { name: 'B', vcpu_ids: [0], gisc: [6] },
  ]);
  const A = w.vms[0]!;
  firmware_ai(w, A, 6);
  gib_alert_irq_handler(w);
  step(w); // xchg#1
  assert.equal(kvm_arch_destroy_vm(w, A), 'stall', 'listed: the pre-6.6 destroy busy-waits');
  step(w); // unlink A
  assert.equal(A.walk_uaf, 0, 'the unlink happened while destroy was still spinning');
  assert.equal(applyStep(w, { kind: 'destroy_spin', vm: 0 }).done, true);
  step(w); // container_of(...)->kvm in the freed page
  assert.equal(A.walk_uaf, UAF_KICK);
});

test('the what-if destroy_waits_for_walks: destroy returns only after the walk, nothing freed is touched', () => {
  for (const F5 of [true, false]) {
    const w = setupWorld({ strategy: 'current', fixes: { F5 }, destroy_waits_for_walks: true }, [
      { name: 'A', vcpu_ids: [0, 1], gisc: [6] },
    ]);
    const A = w.vms[0]!;
    firmware_ai(w, A, 6);
    gib_alert_irq_handler(w);
    step(w); // xchg#1
    assert.equal(kvm_arch_destroy_vm(w, A), 'stall');
    step(w); // unlink A
    assert.equal(applyStep(w, { kind: 'destroy_spin', vm: 0 }).done, false, 'the walk is still in flight');
    while (w.walk.phase !== WALK_IDLE) step(w);
    assert.equal(applyStep(w, { kind: 'destroy_spin', vm: 0 }).done, true, `F5 ${F5}`);
    assert.equal(A.walk_uaf, 0);
    assert.equal(A.gi.timer_at, -1, 'destroy cancelled the kicker the walk started');
  }
});
