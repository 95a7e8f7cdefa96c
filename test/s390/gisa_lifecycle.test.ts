import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firmware_ai } from '../../src/s390/millicode.ts';
import { applyStep, settle } from '../../src/s390/steps.ts';
import { setupWorld } from '../../src/s390/vm.ts';
import { DESTROY_DONE, DESTROY_SPINNING } from '../../src/s390/world.ts';

test('pre-6.6 destroy of an unlisted GISA finishes at once; a listed one spins until another walk unlinks it', () => {
  const w = setupWorld({ strategy: 'v7' }, [
    { name: 'a', vcpu_ids: [0], gisc: [6] },
    { name: 'b', vcpu_ids: [0], gisc: [6] },
  ]);
  assert.equal(applyStep(w, { kind: 'destroy', vm: 1 }).result, 'ok');
  firmware_ai(w, w.vms[0]!, 6);
  assert.equal(applyStep(w, { kind: 'destroy', vm: 0 }).result, 'stall');
  assert.equal(w.vms[0]!.destroy, DESTROY_SPINNING);
  assert.equal(applyStep(w, { kind: 'destroy_spin', vm: 0 }).done, false);
  applyStep(w, { kind: 'gal_irq' });
  while (w.walk.phase) applyStep(w, { kind: 'gal_step' });
  settle(w);
  assert.equal(w.vms[0]!.destroy, DESTROY_DONE);
  assert.equal(w.vms[0]!.gi.origin, 0);
});

test('gisa_disable clears gd and ECA_AIV and destroys; gisa_enable restores them (current only)', () => {
  const w = setupWorld({ strategy: 'current' }, [{ name: 'a', vcpu_ids: [0, 1], gisc: [] }]);
  const vm = w.vms[0]!;
  assert.equal(applyStep(w, { kind: 'gisa_disable', vm: 0 }).result, 'ok');
  assert.equal(vm.gi.origin, 0);
  assert.deepEqual(
    vm.vcpus.map((v) => [v.gd, v.eca_aiv]),
    [
      [0, false],
      [0, false],
    ],
  );
  applyStep(w, { kind: 'gisa_enable', vm: 0 });
  assert.equal(vm.gi.origin, vm.gisa_addr);
  assert.ok(vm.vcpus.every((v) => v.gd === vm.gisa_addr && v.eca_aiv));
  const old = setupWorld({ strategy: 'v7' }, [{ name: 'a', vcpu_ids: [0] }]);
  assert.equal(applyStep(old, { kind: 'gisa_disable', vm: 0 }).result, 'invalid');
});

test('without gd the SIE does not present GISA interruptions (PV guest with the GISA disabled)', () => {
  const w = setupWorld({ strategy: 'current' }, [{ name: 'a', vcpu_ids: [0], gisc: [6] }]);
  const vm = w.vms[0]!;
  applyStep(w, { kind: 'enter_sie', vm: 0, vcpu: 0 });
  vm.vcpus[0]!.gd = 0;
  vm.gisa.ipm = 0x02;
  assert.equal(settle(w), 0);
  assert.equal(vm.gisa.ipm, 0x02);
});
