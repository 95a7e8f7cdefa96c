import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GAL_ISC } from '../../src/abi/s390_gisa.ts';
import { EIO, ENOMEM } from '../../src/s390/errno.ts';
import { kvm_s390_gib_destroy, kvm_s390_gib_init } from '../../src/s390/gib.ts';
import { createWorld, GIB_ADDR } from '../../src/s390/world.ts';

test('gib_init: NISC, empty alert list, adapter interrupt registered, GIB associated via CHSC', () => {
  const w = createWorld();
  assert.equal(kvm_s390_gib_init(w, GAL_ISC), 0);
  assert.deepEqual(w.gib, { addr: GIB_ADDR, alert_list_origin: 0, nisc: 5 });
  assert.equal(w.adapter_registered, true);
  assert.equal(w.chsc_gib_origin, GIB_ADDR);
  assert.equal(w.kvm_loaded, true);
});

test('gib_init failures undo their steps and fail kvm_arch_init', () => {
  for (const [fault, rc] of [
    ['nomem', -ENOMEM],
    ['register', -EIO],
    ['chsc', -EIO],
  ] as const) {
    const w = createWorld();
    assert.equal(kvm_s390_gib_init(w, GAL_ISC, fault), rc, fault);
    assert.deepEqual(
      [w.gib, w.adapter_registered, w.chsc_gib_origin, w.kvm_loaded],
      [null, false, 0, false],
      fault,
    );
  }
});

test('≥6.0 AEN failure path frees the GIB but leaves it associated with the channel subsystem', () => {
  const w = createWorld({ strategy: 'current', zpci: true });
  assert.equal(kvm_s390_gib_init(w, GAL_ISC, 'aen'), -EIO);
  assert.equal(w.gib, null);
  assert.equal(w.chsc_gib_origin, GIB_ADDR);
  const old = createWorld({ strategy: 'v7', zpci: true });
  assert.equal(kvm_s390_gib_init(old, GAL_ISC, 'aen'), 0, '5.2 has no AEN step');
});

test('gib_destroy dissociates, unregisters and frees; twice is harmless', () => {
  const w = createWorld();
  kvm_s390_gib_init(w, GAL_ISC);
  kvm_s390_gib_destroy(w);
  kvm_s390_gib_destroy(w);
  assert.deepEqual([w.gib, w.adapter_registered, w.chsc_gib_origin], [null, false, 0]);
});
