import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDesResult, runDesReference } from '../../../src/sim/engine/des_reference.ts';

// Expected values are des.c's output (../shared/bench/README.md §1):
//   ./des_c 64 4 1000000 12345      # events 4331321, simTime 25043171.259835, meanWait 1469.2249
//   ./des_c 4096 1024 1000000 12345 # events 4345420, simTime 97749.518405,   meanWait 266.4550

test('des.c reproduction, config A (64 vCPUs, cap 4, 1e6 faults, seed 12345)', () => {
  const r = runDesReference({ vcpus: 64, cap: 4, limit: 1_000_000, seed: 12345 });
  assert.equal(r.events, 4331321);
  assert.equal(r.faults, 1_000_000);
  assert.equal(r.simTime.toFixed(6), '25043171.259835');
  assert.equal(r.meanWait.toFixed(4), '1469.2249');
  assert.equal(formatDesResult(r), 'events 4331321, simTime 25043171.259835, meanWait 1469.2249');
});

test('des.c reproduction, config B (4096 vCPUs, cap 1024, 1e6 faults, seed 12345)', () => {
  const r = runDesReference({ vcpus: 4096, cap: 1024, limit: 1_000_000, seed: 12345 });
  assert.equal(r.events, 4345420);
  assert.equal(r.simTime.toFixed(6), '97749.518405');
  assert.equal(r.meanWait.toFixed(4), '266.4550');
});

test('small runs are deterministic and stop exactly at the fault limit', () => {
  const a = runDesReference({ vcpus: 8, cap: 2, limit: 1000, seed: 1 });
  const b = runDesReference({ vcpus: 8, cap: 2, limit: 1000, seed: 1 });
  assert.deepEqual(a, b);
  assert.equal(a.faults, 1000);
  const c = runDesReference({ vcpus: 8, cap: 2, limit: 1000, seed: 2 });
  assert.notEqual(c.simTime, a.simTime);
});
